"""Turns one row's cells into typed values, collecting a reason for every bad cell.

CSV cells arrive as text; XLSX cells as str, int, float, datetime or date. Money is
Decimal throughout: a float from a spreadsheet goes through its shortest repr, and float
noise below 1e-6 (0.30000000000000004) is rounded away; a real third decimal is refused.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from typing import Callable, Mapping
from zoneinfo import ZoneInfo

from crm_core.importers.reader import Row
from crm_core.margin import horizon
from crm_core.importers.texts import say

NOISE = Decimal("0.000001")
LIMIT = Decimal(10) ** 18  # Fixed(precision=20, scale=2) holds 18 integer digits
SHOWN = 64  # characters of a cell quoted back in a reason; a longer value is cut with "…"
THOUSANDS = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?")
DAY = re.compile(r"(\d{4})[-/]?(\d{1,2})[-/]?(\d{1,2})")
CLOSE = time(15, 0)  # futures day session close: a snapshot without a time is the day's close


class BadCell(ValueError):
    pass


def shown(value: object) -> str:
    """A cell as the person typed it (floats without float noise), cut to SHOWN characters."""
    if isinstance(value, float):  # beyond 15 digits a double's integer digits are made up
        text = str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    elif isinstance(value, datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        text = f"{Decimal(value):.6e}"  # str() refuses ints of more than 4,300 digits
    else:
        text = str(value)
    return text if len(text) <= SHOWN else text[:SHOWN - 1] + "…"


def as_text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # Excel keeps account numbers and phones typed as numbers as floats
    if isinstance(value, datetime) and value.time() == time(0):
        return value.date().isoformat()
    return shown(value)


def as_decimal(value: object, places: int) -> Decimal:
    if isinstance(value, bool):
        raise BadCell("not_number")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        text = str(value).replace(" ", "")
        if THOUSANDS.fullmatch(text):
            text = text.replace(",", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise BadCell("not_number") from None
    if not number.is_finite():
        raise BadCell("not_number")
    # Compared without arithmetic: abs() or quantize() of 1E+999999999 exceeds the decimal
    # context and raises instead of answering.
    if number.copy_abs() >= LIMIT:
        raise BadCell("too_large")
    quantum = Decimal(1).scaleb(-places)
    rounded = number.quantize(quantum)
    if rounded.copy_abs() >= LIMIT:
        raise BadCell("too_large")
    if rounded != number and not (isinstance(value, float) and abs(rounded - number) < NOISE):
        raise BadCell("places")
    return rounded


def as_day(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = DAY.fullmatch(as_text(value))
    if not match:
        raise BadCell("not_date")
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise BadCell("not_date") from None


def as_moment(value: object, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise BadCell("not_time") from None
    else:
        raise BadCell("not_time")
    moment = moment if moment.tzinfo else moment.replace(tzinfo=tz)
    try:  # 9999-12-31T23:59:59-12:00 is a valid ISO time beyond the last UTC datetime
        moment.astimezone(timezone.utc)
    except OverflowError:
        raise BadCell("time_range") from None
    return moment


def at_close(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, CLOSE, tzinfo=tz)


def from_future(moment: datetime, now: datetime, tz: ZoneInfo) -> str | None:
    """The reason a row's moment is refused, or None: margin data later than our clock (plus
    margin.CLOCK_SKEW) would stay every account's "newest" figures until that date passes."""
    if moment <= horizon(now):
        return None
    return say("future", value=moment.astimezone(tz).isoformat(),
               now=now.astimezone(tz).isoformat(timespec="seconds"))


class Cells:
    """One row's cells; each getter returns None (and notes the reason) for a bad cell."""

    def __init__(self, row: Row):
        self.row = row
        self.errors: list[str] = []

    def fail(self, reason: str) -> None:
        self.errors.append(reason)

    def get(self, column: str, convert: Callable[[object], object], *, required: bool = False,
            **extra) -> object:
        value = self.row.cells.get(column)
        if value is None:
            if required:
                self.fail(say("required", column=column))
            return None
        try:
            return convert(value)
        except BadCell as exc:
            values = {"column": column, "value": shown(value), **extra}
            values.update(exc.args[1] if len(exc.args) > 1 else {})
            self.fail(say(exc.args[0], **values))
            return None

    def text(self, column: str, *, required: bool = False, limit: int = 64) -> str | None:
        def convert(value):
            text = as_text(value)
            if len(text) > limit:
                raise BadCell("too_long")
            return text
        return self.get(column, convert, required=required, limit=limit)

    def choice(self, column: str, options: Mapping[str, str], *, required: bool = False) -> str | None:
        """options maps accepted spellings (lower case) to the stored value."""
        def convert(value):
            try:
                return options[as_text(value).lower()]
            except KeyError:
                raise BadCell("not_one_of") from None
        listed = ", ".join(dict.fromkeys(options.values()))
        return self.get(column, convert, required=required, options=listed)

    def money(self, column: str, *, required: bool = False, places: int = 2,
              non_negative: bool = False) -> Decimal | None:
        def convert(value):
            number = as_decimal(value, places)
            if non_negative and number < 0:
                raise BadCell("negative")
            return number
        return self.get(column, convert, required=required, places=places)

    def count(self, column: str, *, required: bool = False) -> int | None:
        def convert(value):
            try:
                number = as_decimal(value, 0)
            except BadCell as exc:
                raise BadCell("not_whole" if exc.args[0] == "places" else exc.args[0]) from None
            if number <= 0:
                raise BadCell("not_positive")
            return int(number)
        return self.get(column, convert, required=required)

    def not_future(self, column: str, moment: datetime | None, now: datetime, tz: ZoneInfo) -> None:
        if moment is not None and (reason := from_future(moment, now, tz)):
            self.fail(f"{column}: {reason}")

    def day(self, column: str) -> date | None:
        return self.get(column, as_day)

    def moment(self, column: str, tz: ZoneInfo) -> datetime | None:
        return self.get(column, lambda value: as_moment(value, tz))

    def split(self, column: str, *, limit: int) -> list[str] | None:
        """A `;`-separated list (the full-width `；` too); None when the cell is empty."""
        def convert(value):
            items = [part.strip() for part in re.split(r"[;；]", as_text(value))]
            for item in items:
                if len(item) > limit:
                    raise BadCell("too_long", {"value": item})
            return list(dict.fromkeys(item for item in items if item))
        return self.get(column, convert, limit=limit)
