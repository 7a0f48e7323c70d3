"""How figures are shown to people (SPEC section 6)."""
from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    """19995085.19 -> '19,995,085.19' (thousands separators, two decimals)."""
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"


def percent(ratio: Decimal) -> str:
    """0.424712 -> '42.47%'."""
    return f"{(ratio * 100).quantize(CENT, rounding=ROUND_HALF_UP)}%"


def when(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")
