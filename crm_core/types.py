"""Column types that keep money exact and times zone-aware on SQLite and PostgreSQL.

SQLite has no decimal type: NUMERIC columns there are stored as REAL (binary floats),
so on SQLite a `Fixed` column is stored as a scaled integer (cents for money). PostgreSQL
gets a real NUMERIC. Either way Python only ever sees `Decimal`.
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, ROUND_HALF_EVEN

from sqlalchemy import BigInteger, DateTime, Numeric
from sqlalchemy.types import TypeDecorator


class Fixed(TypeDecorator):
    """A fixed-point decimal with `scale` places (money: 2, prices: 4, ratios: 6)."""

    impl = Numeric
    cache_ok = True

    def __init__(self, scale: int = 2, precision: int = 20):
        super().__init__()
        self.scale = scale
        self.precision = precision
        self._quantum = Decimal(1).scaleb(-scale)
        self._factor = 10**scale

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money and ratios must be Decimal, not float")
        value = Decimal(value).quantize(self._quantum, rounding=ROUND_HALF_EVEN)
        if dialect.name == "sqlite":
            return int(value.scaleb(self.scale))
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / self._factor).quantize(self._quantum)
        return Decimal(value).quantize(self._quantum)

    @property
    def python_type(self):
        return Decimal

    def __repr__(self) -> str:  # Alembic renders migrations with this
        return f"Fixed(scale={self.scale}, precision={self.precision})"


Money = Fixed  # readability at column definitions: Money(2)


class UTCDateTime(TypeDecorator):
    """Stores an aware datetime as UTC; refuses naive datetimes; returns aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: times must carry a time zone")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    @property
    def python_type(self):
        return datetime

    def __repr__(self) -> str:
        return "UTCDateTime()"
