"""Engine, sessions, schema migrations and the personal-data key check."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import String, create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from crm_core.base import Base
from crm_core.crypto import Cipher

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaError(RuntimeError):
    """The database schema is missing or older than this code."""


class KeyMismatch(RuntimeError):
    """The configured secret key is not the one the database's personal data was written with."""


class Meta(Base):
    __tablename__ = "brokerbot_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Enough connections for the callback workers (16 per platform adapter), the dispatcher and
    # the scheduled jobs at once; SQLAlchemy's default 5 + 10 made them queue for a connection.
    return create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=20)


class Database:
    """One database: its engine, session factory, personal-data cipher and business time zone."""

    def __init__(self, url: str, *, secret_key: str, timezone: str = "Asia/Shanghai"):
        self.url = url
        self.engine = make_engine(url)
        self.cipher = Cipher(secret_key)
        self.tz = ZoneInfo(timezone)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False,
                                      info={"cipher": self.cipher, "tz": self.tz})

    # -- sessions ---------------------------------------------------------------------------
    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    # -- schema -----------------------------------------------------------------------------
    def _alembic_config(self):
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        cfg.attributes["engine"] = self.engine
        cfg.attributes["cipher"] = self.cipher  # for migrations that encrypt (0013)
        return cfg

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def upgrade(self) -> tuple[str | None, str]:
        from alembic import command

        before = self.current_revision()
        command.upgrade(self._alembic_config(), "head")
        self.check_key()
        return before, self.head_revision()

    def ensure_schema(self) -> None:
        """Create the schema in an empty database; refuse to run on an outdated one."""
        current = self.current_revision()
        if current is None:
            tables = set(inspect(self.engine).get_table_names()) - {"alembic_version"}
            if tables:
                raise SchemaError("the database has tables but no brokerbot schema version; "
                                  "point BROKERBOT_DATABASE_URL at an empty database")
            self.upgrade()
            return
        if current != self.head_revision():
            raise SchemaError(f"the database schema is at {current}, this brokerbot needs "
                              f"{self.head_revision()}: run `brokerbot db upgrade`")
        self.check_key()

    def check_key(self) -> None:
        """Record the key fingerprint on first use; refuse a different key afterwards."""
        with self.transaction() as session:
            row = session.get(Meta, "secret_key_fingerprint")
            if row is None:
                session.add(Meta(key="secret_key_fingerprint", value=self.cipher.fingerprint))
            elif row.value != self.cipher.fingerprint:
                raise KeyMismatch("BROKERBOT_SECRET_KEY differs from the key this database's personal "
                                  "data was encrypted with; set the original key")

    def dispose(self) -> None:
        self.engine.dispose()


def cipher_of(session: Session) -> Cipher:
    return session.info["cipher"]


def tz_of(session: Session) -> ZoneInfo:
    return session.info["tz"]


__all__ = ["Database", "Meta", "SchemaError", "KeyMismatch", "cipher_of", "tz_of"]
