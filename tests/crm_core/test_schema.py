from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from crm_core import audit
from crm_core.accounts import Account
from crm_core.clients import Client
from crm_core.db import Database, KeyMismatch
from crm_core.margin import MarginSnapshot


def test_money_round_trips_exactly(app, session):
    client = Client(name="张三")
    session.add(client)
    session.flush()
    account = Account(account_no="90000001", client_id=client.id)
    session.add(account)
    session.flush()
    big = Decimal("98765432109876.01")
    snap = MarginSnapshot(account_id=account.id, timestamp=datetime(2026, 11, 18, 7, 0, tzinfo=timezone.utc),
                          balance=big, curr_margin=Decimal("0.07"), available=big - Decimal("0.07"),
                          risk_degree=Decimal("0.123457"))
    session.add(snap)
    session.commit()
    session.expire_all()
    loaded = session.scalar(select(MarginSnapshot))
    assert loaded.balance == big and isinstance(loaded.balance, Decimal)
    assert loaded.available == Decimal("98765432109875.94")
    assert loaded.risk_degree == Decimal("0.123457")
    assert loaded.timestamp.tzinfo is not None
    # SQL comparisons work on the stored representation too.
    assert session.scalar(select(MarginSnapshot.id).where(MarginSnapshot.risk_degree > Decimal("0.12")))


def test_floats_and_naive_times_are_refused(session):
    with pytest.raises(Exception, match="float"):
        session.add(MarginSnapshot(account_id=1, timestamp=datetime.now(timezone.utc), balance=1.5,
                                   curr_margin=Decimal(0), available=Decimal(0)))
        session.flush()
    session.rollback()
    with pytest.raises(Exception, match="naive"):
        session.add(MarginSnapshot(account_id=1, timestamp=datetime(2026, 1, 1), balance=Decimal(1),
                                   curr_margin=Decimal(0), available=Decimal(0)))
        session.flush()


def test_personal_data_is_encrypted_at_rest_and_masked(app, session):
    cipher = app.db.cipher
    client = Client(name="李四")
    client.set_phone(cipher, "13812345678")
    client.set_id_number(cipher, "110101199001011234")
    session.add(client)
    session.commit()
    raw = session.execute(text("SELECT phone_enc, id_number_enc FROM clients")).one()
    assert "13812345678" not in raw[0] and "110101199001011234" not in raw[1]
    assert client.masked_phone(cipher) == "138****5678"
    assert client.masked_id_number(cipher) == "110***********1234"


def test_a_different_key_is_refused(app, settings):
    other = Database(settings.database_url, secret_key="another-key-entirely-0123456789")
    with pytest.raises(KeyMismatch):
        other.ensure_schema()
    other.dispose()


def test_audit_log_is_append_only_and_verifiable(app, session):
    for i in range(3):
        audit.record(session=session, actor="m1", action="test", entity="client", entity_id=i)
    session.commit()
    assert audit.verify(session=session) == (3, None)
    with pytest.raises(DBAPIError):
        session.execute(text("UPDATE audit_log SET actor='x' WHERE id=2"))
    session.rollback()
    with pytest.raises(DBAPIError):
        session.execute(text("DELETE FROM audit_log WHERE id=2"))
    session.rollback()


def test_migrations_build_exactly_the_models_schema(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from crm_core.models import Base

    with app.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
