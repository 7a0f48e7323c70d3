"""The REST API as the brokerage's back office uses it: bearer tokens, snapshot and position
batches checked by the importers' rules, all-or-nothing, idempotent, exact decimals."""
import json
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from bot.platforms.terminal.adapter import TerminalSession
from bot.http import create_app
from bot.service import Service
from crm_core import tokens
from crm_core.accounts import Account
from crm_core.audit import AuditEntry
from crm_core.risk.alerts import Alert, AlertLevel
from crm_core.margin import MarginSnapshot, Position, latest_positions, latest_snapshot
from crm_core.staff import Role
from tests import factories as f
from tests.running import running

NOW = datetime.fromisoformat("2026-11-18T16:00:00+08:00")
OLD = datetime.fromisoformat("2026-11-17T15:00:00+08:00")
SNAPSHOT = {"account_no": "90012345", "timestamp": "2026-11-18T15:00:00+08:00", "trading_day": "20261118",
            "balance": "1500000.00", "curr_margin": 1350000, "exchange_margin": "1200000.00"}
POSITIONS = [
    {"account_no": "90012345", "timestamp": "2026-11-18T15:00:00+08:00", "exchange": "SHFE",
     "instrument": "rb2601", "direction": "long", "volume": 30, "open_price": "3120.5",
     "settlement_price": 3196.0, "position_profit": "22725.00", "margin": 287640},
    {"account_no": "90012345", "timestamp": "2026-11-18T15:00:00+08:00", "exchange": "DCE",
     "instrument": "i2601", "direction": "short", "volume": 25, "margin": "355500.00"},
]


class RecordingService(Service):
    """The real service, remembering what it was told after each ingest."""

    def __init__(self, app):
        super().__init__(app)
        self.ingested = []

    def after_ingest(self, kind, account_ids, now):
        self.ingested.append((kind, account_ids))


@pytest.fixture
def crm(app, session):
    m1 = f.staff(session, "m1", "王芳", Role.manager)
    f.client(session, "张三", m1, ["90012345"])
    f.client(session, "李四", m1, ["90030001"])
    f.snapshot(session, "90012345", OLD, "1425363.60", "751468.00")
    session.commit()
    return session


@pytest.fixture
def token(session):
    made = tokens.create_token(session=session, name="back-office")
    session.commit()
    return made


@pytest.fixture
def service(app, crm):
    return RecordingService(app)


@pytest.fixture
def http(service):
    return TestClient(create_app(service))


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def counts(session):
    session.expire_all()
    return (session.scalar(select(func.count()).select_from(MarginSnapshot)),
            session.scalar(select(func.count()).select_from(Position)))


def account_id(session, no):
    return session.scalar(select(Account.id).where(Account.account_no == no))


def test_without_a_live_token_nothing_is_written(http, session, token):
    before = counts(session)
    revoked = tokens.create_token(session=session, name="old-sync")
    tokens.revoke_token(session=session, name="old-sync")
    session.commit()
    for headers in ({}, auth("bbt_not-a-token"), auth(revoked), {"Authorization": f"Basic {token}"}):
        for route in ("snapshots", "positions"):
            answer = http.post(f"/api/v1/{route}", json=[SNAPSHOT] if route == "snapshots" else POSITIONS,
                               headers=headers)
            assert answer.status_code == 401
            assert "API token" in answer.json()["detail"]
            assert answer.headers["www-authenticate"] == "Bearer"
    assert counts(session) == before
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("api.%"))) == 0
    assert session.scalar(select(tokens.ApiToken).where(tokens.ApiToken.name == "back-office")).last_used_at is None


def test_a_good_batch_becomes_the_clients_latest_snapshot(app, http, service, session, token):
    answer = http.post("/api/v1/snapshots", json=[SNAPSHOT], headers=auth(token))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["rows"], body["written"], body["created"], body["bad"]) == (1, 1, 1, 0)
    session.expire_all()
    latest = latest_snapshot(session=session, account_id=account_id(session, "90012345"))
    assert latest.timestamp == datetime.fromisoformat("2026-11-18T15:00:00+08:00")
    assert str(latest.available) == "150000.00" and str(latest.risk_degree) == "0.900000"
    # Where the row came from: the API, the token's name, this request, row 0 of the array.
    assert (latest.source_platform, latest.source_user) == ("api", "back-office")
    assert (latest.source_message_id, latest.source_text) == (body["request_id"], "/api/v1/snapshots[0]")
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "api.snapshots"))
    assert entry.actor == "api" and entry.details["created"] == 1
    assert entry.details["source"]["user"] == "back-office" and token not in json.dumps(entry.details)
    assert service.ingested == [("snapshots", [latest.account_id])]
    # The manager asking in chat now gets the posted figures and their time.
    reply = TerminalSession("m1", service.pipeline.handle, now=NOW, tz=app.db.tz).send("张三的保证金还够吗").text
    assert "客户权益：1,500,000.00" in reply and "风险度：90.00%" in reply and "2026-11-18 15:00" in reply


def test_a_bad_row_refuses_the_batch_and_names_every_bad_row(http, service, session, token):
    before = counts(session)
    rows = [SNAPSHOT,
            {**SNAPSHOT, "account_no": "90030001", "balance": "12.345"},
            {**SNAPSHOT, "account_no": "90099999"},
            SNAPSHOT,
            "not a row",
            {**SNAPSHOT, "account_no": "90030001", "timestamp": "2026-11-18T14:00:00+08:00",
             "curr_margin": {"value": 1}, "note": "x"}]
    answer = http.post("/api/v1/snapshots", json=rows, headers=auth(token))
    assert answer.status_code == 422
    body = answer.json()
    assert "nothing written" in body["detail"] and body["written"] == 0
    assert body["bad_rows"] == [
        {"index": 1, "reason": "balance: 12.345 has more than 2 decimal places"},
        {"index": 2, "reason": "account_no: no account 90099999; import it with the clients file first"},
        {"index": 3, "reason": "account_no 90012345 at 2026-11-18T15:00:00+08:00 is a duplicate of row 0"},
        {"index": 4, "reason": "not an object of column names and values"},
        {"index": 5, "reason": "curr_margin: a list or object, not a single value"}]
    assert body["ignored_fields"] == ["note"]
    assert counts(session) == before and service.ingested == []
    # skip_invalid writes the good row and still lists the bad ones.
    answer = http.post("/api/v1/snapshots?skip_invalid=true", json=rows, headers=auth(token))
    assert answer.status_code == 200
    assert (answer.json()["written"], answer.json()["bad"]) == (1, 5)
    assert counts(session) == (before[0] + 1, before[1])


def test_the_same_batch_twice_writes_nothing_the_second_time(http, service, session, token):
    first = http.post("/api/v1/positions", json=POSITIONS, headers=auth(token)).json()
    assert (first["created"], first["written"]) == (2, 2)
    session.expire_all()
    stored = {(p.id, p.source_message_id) for p in session.scalars(select(Position))}
    second = http.post("/api/v1/positions", json=POSITIONS, headers=auth(token)).json()
    assert (second["written"], second["unchanged"], second["removed"]) == (0, 2, 0)
    session.expire_all()
    assert {(p.id, p.source_message_id) for p in session.scalars(select(Position))} == stored
    assert service.ingested == [("positions", [account_id(session, "90012345")])]
    # A re-sent report without a position removes it, as a re-imported file does.
    third = http.post("/api/v1/positions", json=POSITIONS[:1], headers=auth(token)).json()
    assert (third["written"], third["unchanged"], third["removed"]) == (0, 1, 1)


def test_amounts_keep_their_exact_decimal_values(http, session, token):
    # As a binary float, 98765432109876.01 is 98765432109876.02; 3196.1235 would pass as 4 places.
    body = ('[{"account_no": "90012345", "timestamp": "2026-11-18T15:00:00+08:00", '
            '"balance": 98765432109876.01, "curr_margin": 0.07, "frozen_margin": 1E+2}]')
    answer = http.post("/api/v1/snapshots", content=body, headers=auth(token))
    assert answer.status_code == 200, answer.text
    session.expire_all()
    snap = latest_snapshot(session=session, account_id=account_id(session, "90012345"))
    assert str(snap.balance) == "98765432109876.01" and str(snap.available) == "98765432109775.94"
    position = {**POSITIONS[0], "open_price": 3196.1235, "settlement_price": 3196.12349}
    answer = http.post("/api/v1/positions", content=json.dumps([position]), headers=auth(token))
    assert answer.status_code == 422
    assert answer.json()["bad_rows"] == [
        {"index": 0, "reason": "settlement_price: 3196.12349 has more than 4 decimal places"}]
    answer = http.post("/api/v1/positions", content=json.dumps([{**position, "settlement_price": "3196.1234"}]),
                       headers=auth(token))
    assert answer.status_code == 200
    session.expire_all()
    held = latest_positions(session=session, account_id=account_id(session, "90012345"))
    assert [(str(p.open_price), str(p.settlement_price)) for p in held] == [("3196.1235", "3196.1234")]


def test_a_body_that_is_too_large_or_not_an_array_is_refused(app, crm, session, token):
    app.settings.api_max_rows = 2
    http = TestClient(create_app(Service(app)))
    before = counts(session)
    rows = [{**SNAPSHOT, "timestamp": f"2026-11-18T1{h}:00:00+08:00"} for h in range(3)]
    answer = http.post("/api/v1/snapshots", json=rows, headers=auth(token))
    assert answer.status_code == 413 and "more than 2 rows" in answer.json()["detail"]
    assert http.post("/api/v1/snapshots", content="x" * 10_000, headers=auth(token)).status_code == 413
    assert http.post("/api/v1/snapshots", json=SNAPSHOT, headers=auth(token)).status_code == 400
    assert http.post("/api/v1/snapshots", content="[{", headers=auth(token)).status_code == 400
    assert counts(session) == before


def test_docs_show_the_bearer_scheme_and_the_row_columns(http):
    spec = http.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    post = spec["paths"]["/api/v1/positions"]["post"]
    assert post["security"] == [{"HTTPBearer": []}]
    items = post["requestBody"]["content"]["application/json"]["schema"]["items"]
    assert "hedge_flag" in items["properties"] and "instrument" in items["required"]
    assert http.get("/docs").status_code == 200


def test_token_create_on_the_command_line_prints_a_token_that_works(app, crm, session, cli):
    made = cli("token", "create", "--name", "back-office")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("bbt_") and len(token) > 40
    again = cli("token", "create", "--name", "back-office")
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == ["brokerbot: a token named 'back-office' already exists; "
                                                 "choose another name"]
    # The database holds no plaintext token, in any table.
    tables = [row[0] for row in session.execute(text(
        "SELECT name FROM sqlite_master WHERE type='table'" if app.db.engine.dialect.name == "sqlite"
        else "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"))]
    for table in tables:
        for row in session.execute(text(f'SELECT * FROM "{table}"')):
            assert token not in repr(tuple(row)), table
    with running(Service(app)) as base:
        answer = httpx.post(f"{base}/api/v1/snapshots", json=[SNAPSHOT], headers=auth(token), timeout=10)
        assert answer.status_code == 200 and answer.json()["created"] == 1
        listed = cli("token", "list")
        assert listed.returncode == 0 and "back-office" in listed.stdout and "active" in listed.stdout
        assert token not in listed.stdout
        assert cli("token", "revoke", "back-office").returncode == 0
        answer = httpx.post(f"{base}/api/v1/snapshots", json=[SNAPSHOT], headers=auth(token), timeout=10)
        assert answer.status_code == 401


def test_a_batch_row_with_only_account_and_time_reports_the_account_flat(app, http, service, session, token):
    assert http.post("/api/v1/positions", json=POSITIONS, headers=auth(token)).status_code == 200
    flat = [{"account_no": "90012345", "timestamp": "2026-11-19T15:00:00+08:00"}]
    answer = http.post("/api/v1/positions", json=flat, headers=auth(token))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["created"], answer.json()["written"]) == (1, 1)
    session.expire_all()
    assert latest_positions(session=session, account_id=account_id(session, "90012345")) == []
    chat = TerminalSession("m1", service.pipeline.handle, now=NOW, tz=app.db.tz)
    text = chat.send("张三的持仓").text
    assert "当前无持仓" in text and "数据时间：2026-11-19 15:00" in text and "rb2601" not in text, text
    again = http.post("/api/v1/positions", json=flat, headers=auth(token)).json()
    assert (again["written"], again["unchanged"]) == (0, 1)


def test_every_malformed_row_is_a_422_naming_its_index(http, service, session, token):
    # Extreme values a hostile or broken client sends: none may become a 500, nor a 409 that a
    # client would retry for ever.
    before = counts(session)
    snapshots = [
        {**SNAPSHOT, "timestamp": "9999-12-31T23:59:59-12:00"},
        {**SNAPSHOT, "timestamp": "0001-01-01T00:00:00+14:00"},
        {**SNAPSHOT, "timestamp": 20261118},
        {**SNAPSHOT, "timestamp": True},
        {**SNAPSHOT, "trading_day": "99991231", "timestamp": None},
        {**SNAPSHOT, "balance": [1]},
    ]
    body = json.dumps(snapshots)[:-1] + (
        ', {"account_no": "90012345", "timestamp": "2026-11-18T14:01:00+08:00", "balance": 1e999999999, "curr_margin": 1}'
        ', {"account_no": "90012345", "timestamp": "2026-11-18T14:02:00+08:00", "balance": -1e999999999, "curr_margin": 1}'
        ', {"account_no": "90012345", "timestamp": "2026-11-18T14:03:00+08:00", "balance": 1e-999999999, "curr_margin": 1}'
        ', {"account_no": "90012345", "timestamp": "2026-11-18T14:04:00+08:00", "balance": NaN, "curr_margin": 1}'
        ', {"account_no": "90012345", "timestamp": "2026-11-18T14:05:00+08:00", "balance": Infinity, "curr_margin": -Infinity}'
        ', {"account_no": "90012345", "timestamp": "2026-11-18T14:06:00+08:00", "balance": ' + "9" * 5000 + ', "curr_margin": 1}'
        ', {"account_no": ' + "1" * 5000 + ', "timestamp": "2026-11-18T14:07:00+08:00", "balance": 1, "curr_margin": 1}'
        ', {"account_no": "90012345", "timestamp": "2026-11-18T14:08:00+08:00", "balance": "1e999999999", "curr_margin": "1"}'
        ']')
    answer = http.post("/api/v1/snapshots", content=body, headers=auth(token))
    assert answer.status_code == 422, answer.text
    bad = {row["index"]: row["reason"] for row in answer.json()["bad_rows"]}
    assert sorted(bad) == list(range(14)), bad
    assert bad[0].startswith("timestamp: 9999-12-31T23:59:59-12:00 ")
    assert bad[1].startswith("timestamp: 0001-01-01T00:00:00+14:00 ")
    assert bad[2] == "timestamp: 20261118 is not an ISO 8601 time such as 2026-11-18T15:00:00+08:00"
    assert bad[4].startswith("trading_day: 9999-12-31T15:00:00+08:00 is in the future (now 20")
    assert bad[6] == "balance: 1E+999999999 is too large" and bad[7] == "balance: -1E+999999999 is too large"
    assert bad[8] == "balance: 1E-999999999 has more than 2 decimal places"
    assert bad[9] == "balance: NaN is not a number"
    assert bad[11] == f"balance: {'9' * 63}… is too large"
    assert "longer than 32 characters" in bad[12]
    assert bad[13] == "balance: 1e999999999 is too large"
    positions = [{k: v for k, v in POSITIONS[0].items() if k != "timestamp"},
                 {**POSITIONS[1], "timestamp": None},
                 {**POSITIONS[0], "timestamp": "9999-12-31T23:59:59-12:00"},
                 {**POSITIONS[0], "volume": 10 ** 30, "timestamp": "2026-11-18T14:00:00+08:00"},
                 {**POSITIONS[0], "margin": "Infinity", "timestamp": "2026-11-18T13:00:00+08:00"},
                 {"account_no": "90012345"}]
    for skip in ("false", "true"):
        answer = http.post(f"/api/v1/positions?skip_invalid={skip}", json=positions, headers=auth(token))
        assert answer.status_code == (422 if skip == "false" else 200), answer.text
        bad = {row["index"]: row["reason"] for row in answer.json()["bad_rows"]}
        assert sorted(bad) == list(range(6)), bad
        assert bad[0] == bad[1] == bad[5] == "timestamp: empty, but required"
        assert bad[3] == f"volume: {10 ** 30} is too large"
        assert bad[4] == "margin: Infinity is not a number"
    assert counts(session) == before and service.ingested == []


def test_a_snapshot_from_the_future_is_refused_and_never_blinds_the_account(app, crm, session, token):
    # Issue 12: a snapshot mistyped as 2099 used to become the account's "newest" figures for
    # 73 years: a real one at 120% afterwards raised nothing and chat showed the 2099 figures.
    service = Service(app)
    http = TestClient(create_app(service))
    base = {"account_no": "90012345", "balance": "1000000.00"}
    future = {**base, "timestamp": "2099-11-18T14:30:00+08:00", "curr_margin": "100000.00"}
    answer = http.post("/api/v1/snapshots", json=[future], headers=auth(token))
    assert answer.status_code == 422
    [bad] = answer.json()["bad_rows"]
    assert bad["index"] == 0
    assert bad["reason"].startswith("timestamp: 2099-11-18T14:30:00+08:00 is in the future (now 20")
    # A sender's clock a minute ahead of ours is not a mistake (margin.CLOCK_SKEW).
    ahead = (datetime.now(app.db.tz) + timedelta(minutes=1)).isoformat()
    answer = http.post("/api/v1/snapshots", json=[{**base, "timestamp": ahead, "curr_margin": "500000.00"}],
                       headers=auth(token))
    assert answer.status_code == 200, answer.text
    # A 2099 row stored before rows were checked is ignored wherever "the newest" is read.
    f.snapshot(session, "90012345", datetime.fromisoformat("2099-11-18T14:30:00+08:00"), "1000000", "100000")
    session.commit()
    now = datetime.now(app.db.tz) + timedelta(minutes=2)
    real = {**base, "timestamp": now.isoformat(), "curr_margin": "1200000.00"}  # risk degree 120%
    answer = http.post("/api/v1/snapshots", json=[real], headers=auth(token))
    assert answer.status_code == 200, answer.text
    session.expire_all()
    alert = session.scalar(select(Alert).where(Alert.account_id == account_id(session, "90012345")))
    assert alert is not None and alert.level is AlertLevel.margin_call and str(alert.risk_degree) == "1.200000"
    latest = latest_snapshot(session=session, account_id=account_id(session, "90012345"))
    assert str(latest.risk_degree) == "1.200000"
    reply = TerminalSession("m1", service.pipeline.handle, now=now, tz=app.db.tz).send("张三的保证金还够吗").text
    assert "风险度：120.00%" in reply and "2099" not in reply, reply
    found = TerminalSession("m1", service.pipeline.handle, now=now, tz=app.db.tz).send("风险度超过100%的客户").text
    assert "张三" in found and "2099" not in found, found
