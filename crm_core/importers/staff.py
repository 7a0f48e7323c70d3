"""Staff file: login,name,role,team,supervisor,wecom_userid,dingtalk_userid,slack_user_id,notify_via.

Keyed by login. A supervisor may be defined further down the same file. Teams are created
by name. An empty cell leaves the stored value as it is.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update

from crm_core.base import utcnow
from crm_core.importers.fields import Cells
from crm_core.importers.job import FirstSeen, Job
from crm_core.importers.texts import say
from crm_core.staff import PLATFORMS, Role, Staff, Team

COLUMNS = ("login", "name", "role", "team", "supervisor", "wecom_userid", "dingtalk_userid",
           "slack_user_id", "notify_via")
REQUIRED = ("login", "name", "role")
ID_COLUMNS = {"wecom": "wecom_userid", "dingtalk": "dingtalk_userid", "slack": "slack_user_id"}
FIELDS = ("name", "role", "team_id", "wecom_userid", "dingtalk_userid", "slack_user_id", "notify_via")
ROLES = {role.value: role.value for role in Role}
NOTIFY = {platform: platform for platform in PLATFORMS}


@dataclass
class Rec:
    line: int
    values: dict
    errors: list[str] = field(default_factory=list)


@dataclass
class Plan:
    recs: list[Rec]
    existing: dict  # login -> the stored row


def _existing(job: Job) -> dict:
    cols = (Staff.id, Staff.login, Staff.supervisor_id, *(getattr(Staff, f) for f in FIELDS))
    return {row.login: row for row in job.session.execute(select(*cols))}


def check(job: Job, rows) -> Plan:
    existing = _existing(job)
    owners = {(col, getattr(row, col)): login for login, row in existing.items()
              for col in ID_COLUMNS.values() if getattr(row, col)}
    logins = FirstSeen("login")
    ids = {col: FirstSeen(col) for col in ID_COLUMNS.values()}
    recs = []
    for row in job.each("checking", rows):
        c = Cells(row)
        v = {"login": c.text("login", required=True), "name": c.text("name", required=True),
             "role": c.choice("role", ROLES, required=True), "team": c.text("team"),
             "supervisor": c.text("supervisor"), "wecom_userid": c.text("wecom_userid"),
             "dingtalk_userid": c.text("dingtalk_userid"),
             "slack_user_id": c.text("slack_user_id", limit=32),
             "notify_via": c.choice("notify_via", NOTIFY)}
        login = v["login"]
        for reason in [logins.check(login, row.line)] + [
                seen.check(v[col], row.line) for col, seen in ids.items()]:
            if reason:
                c.fail(reason)
        for col in ID_COLUMNS.values():
            owner = owners.get((col, v[col]))
            if owner is not None and owner != login:
                c.fail(say("platform_id_taken", column=col, value=v[col], login=owner))
        if login is not None and v["supervisor"] == login:
            c.fail(say("own_supervisor", value=login))
        if v["notify_via"]:
            col = ID_COLUMNS[v["notify_via"]]
            stored = existing.get(login)
            if not (v[col] or (stored is not None and getattr(stored, col))):
                c.fail(say("notify_without_id", value=v["notify_via"], column=col))
        recs.append(Rec(row.line, v, c.errors))
    _check_supervisors(recs, existing)
    for rec in recs:
        if rec.errors:
            job.bad(rec.line, rec.errors)
    return Plan([rec for rec in recs if not rec.errors], existing)


def _check_supervisors(recs: list[Rec], existing: dict) -> None:
    defined = {}
    for rec in recs:
        defined.setdefault(rec.values["login"], rec)
    for rec in recs:
        sup = rec.values["supervisor"]
        if sup and sup not in existing and sup not in defined:
            rec.errors.append(say("no_staff", column="supervisor", value=sup))
    # A supervisor defined only on a bad line is not imported, so neither is the row under them.
    changed = True
    while changed:
        changed = False
        for rec in recs:
            sup = rec.values["supervisor"]
            if rec.errors or not sup or sup in existing or not defined[sup].errors:
                continue
            rec.errors.append(say("bad_supervisor_line", value=sup, line=defined[sup].line))
            changed = True


def _teams(job: Job, recs: list[Rec]) -> dict[str, int]:
    teams = {name: id_ for id_, name in job.session.execute(select(Team.id, Team.name))}
    new = [name for name in dict.fromkeys(r.values["team"] for r in recs if r.values["team"])
           if name not in teams]
    if new:
        teams.update(zip(new, job.insert("teams", Team, [{"name": name} for name in new])))
    return teams


def apply(job: Job, plan: Plan) -> None:
    recs, existing, report = plan.recs, plan.existing, job.report
    teams = _teams(job, recs)
    inserts, changes = [], {}
    for rec in recs:
        v = dict(rec.values, team_id=teams.get(rec.values["team"]))
        stored = existing.get(v["login"])
        if stored is None:
            inserts.append({"login": v["login"], **{f: v[f] for f in FIELDS}})
            continue
        diff = {f: v[f] for f in FIELDS if v[f] is not None and getattr(stored, f) != v[f]}
        if diff:
            changes[stored.id] = diff
    made = job.insert("writing", Staff, inserts)
    ids = {login: row.id for login, row in existing.items()} | {
        row["login"]: id_ for row, id_ in zip(inserts, made)}
    for rec in recs:
        sup = rec.values["supervisor"]
        stored = existing.get(rec.values["login"])
        if sup and (stored is None or stored.supervisor_id != ids[sup]):
            changes.setdefault(ids[rec.values["login"]], {})["supervisor_id"] = ids[sup]
    job.write("writing", update(Staff),
              [{"id": id_, **diff, "updated_at": utcnow()} for id_, diff in changes.items()])
    existing_ids = {row.id for row in existing.values()}
    report.created = len(inserts)
    report.updated = len(existing_ids & changes.keys())
    report.unchanged = len(recs) - report.created - report.updated
