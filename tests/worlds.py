"""The data sets conversations run on (the `crm` fixture, the stories' `world:`)."""
from __future__ import annotations

from datetime import datetime, timedelta

from crm_core.staff import Role
from tests import factories as f

NOW = datetime.fromisoformat("2026-11-18T09:30:00+08:00")
SNAP_AT = datetime.fromisoformat("2026-11-17T15:00:00+08:00")


def branch(app, session):
    """Two teams of a branch: 王芳 (m1) serves 张三 (figures, positions, personal data) and two
    clients named 张伟; 刘洋 (m2), in the other team, serves 李四 (in margin call); 陈静 (m1b) has no
    client; their supervisors sup1 and sup2; risk1 sees every client."""
    east, west = f.team(session, "华东一部"), f.team(session, "华东二部")
    sup1 = f.staff(session, "sup1", "周总监", Role.supervisor, east)
    sup2 = f.staff(session, "sup2", "吴总监", Role.supervisor, west)
    m1 = f.staff(session, "m1", "王芳", Role.manager, east, sup1)
    f.staff(session, "m1b", "陈静", Role.manager, east, sup1)
    m2 = f.staff(session, "m2", "刘洋", Role.manager, west, sup2)
    f.staff(session, "risk1", "赵风控", Role.risk)
    zs = f.client(session, "张三", m1, ["90012345"], risk_level="C4")
    zs.set_phone(app.db.cipher, "13812345678")
    zs.set_id_number(app.db.cipher, "110101199003074514")
    zs.set_tags(["套保", "高净值"])
    f.snapshot(session, "90012345", SNAP_AT - timedelta(days=1), "1000000.00", "100000.00")
    f.snapshot(session, "90012345", SNAP_AT, "1425363.60", "751468.00", exchange_margin="601174.40")
    f.position(session, "90012345", SNAP_AT, "SHFE", "rb2601", "long", 30, "287640.00", "-14200.00")
    f.position(session, "90012345", SNAP_AT, "DCE", "i2601", "short", 25, "355500.00", "-14200.00")
    f.client(session, "张伟", m1, ["90020001"])
    f.client(session, "张伟", m1, ["90020002"])
    f.client(session, "李四", m2, ["90030001"])
    f.snapshot(session, "90030001", SNAP_AT, "200000.00", "210000.00")
    session.commit()
    return session


WORLDS = {"branch": branch}
