"""The daily audit checkpoint: the service verifies the chain, signs its head into
audit_checkpoints and sends SEQ:HASH to the compliance chat of channels.yaml (audit: true); the
line it sends is the anchor `brokerbot audit verify --anchor` checks a rewrite against."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from bot.app import App
from bot.service import Service
from crm_core import audit
from crm_core.config_files import ConfigFileError
from tests import factories as f
from tests.fakes.wecom_server import FakeWeCom

T0 = datetime(2026, 11, 21, 16, 5, tzinfo=timezone.utc)  # Sunday 00:05 in Shanghai


@pytest.fixture
def wecom():
    with FakeWeCom(webhook_keys={"compliance-key", "desk-key"}) as fake:
        yield fake


@pytest.fixture
def service(settings, tmp_path, wecom):
    config = f.channels(tmp_path, wecom, key="desk-key", levels="warning", more=f"""\
  - name: compliance
    type: wecom_webhook
    url: {wecom.base_url}/cgi-bin/webhook/send?key=compliance-key
    audit: true
""")
    service = Service(App(settings.model_copy(update={"config_dir": config})))
    yield service
    service.app.close()


def _record(app, n):
    with app.db.transaction() as session:
        for i in range(n):
            audit.record(session=session, actor="m1", action="client.update", entity="client", entity_id=i)


def _checkpoints(app) -> int:
    with app.db.session() as session:
        return session.scalar(select(func.count()).select_from(audit.AuditCheckpoint))


def test_the_daily_checkpoint_reaches_the_compliance_chat_once_a_day_and_anchors_verify(service, wecom, cli):
    _record(service.app, 3)
    assert service.jobs.run("audit_checkpoint", T0) == 1
    assert service.jobs.run("audit_checkpoint", T0 + timedelta(hours=5)) == 0  # same day: nothing more
    service.dispatcher.run_once(now=T0)
    [post] = wecom.webhook_messages["compliance-key"]
    assert wecom.webhook_messages["desk-key"] == []
    content = post["markdown"]["content"]
    with service.app.db.session() as session:
        head = session.scalar(select(audit.AuditEntry.hash).where(audit.AuditEntry.id == 3))
    assert content.startswith("**审计日志检查点**\n审计日志完整（3 条）")
    assert f"brokerbot audit verify --anchor 3:{head}" in content
    assert _verify_anchor(cli, f"3:{head}").returncode == 0
    _record(service.app, 1)
    assert service.jobs.run("audit_checkpoint", T0 + timedelta(days=1)) == 1
    assert _checkpoints(service.app) == 2


def _verify_anchor(cli, anchor):
    return cli("audit", "verify", "--anchor", anchor)


def test_a_broken_chain_is_reported_to_the_compliance_chat_and_not_signed(service, wecom, session):
    _record(service.app, 3)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER audit_log_no_update"))
    session.execute(text("UPDATE audit_log SET actor = 'm2' WHERE id = 2"))
    session.commit()
    assert service.jobs.run("audit_checkpoint", T0) == 1
    service.dispatcher.run_once(now=T0)
    [post] = wecom.webhook_messages["compliance-key"]
    assert "审计日志在第 2 条处断裂" in post["markdown"]["content"]
    assert "今天未签署检查点" in post["markdown"]["content"]
    assert _checkpoints(service.app) == 0


def test_an_alert_channel_still_needs_levels_and_teams(settings, tmp_path):
    (tmp_path / "channels.yaml").write_text("""
channels:
  - name: desk
    type: wecom_webhook
    url: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY
    teams: ["*"]
""", encoding="utf-8")
    with pytest.raises(ConfigFileError, match=r"levels is required \(or audit: true"):
        App(settings.model_copy(update={"config_dir": tmp_path})).ready()
