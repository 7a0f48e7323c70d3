"""Phone numbers and PRC resident ID numbers: validated, then normalised so that the
blind index matches the same number however it was typed."""
from __future__ import annotations

import re
from datetime import date

from crm_core.importers.fields import BadCell, as_text

MOBILE = re.compile(r"1[3-9]\d{9}")
LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(-\d{1,6})?")  # area code, number, optional extension
COUNTRY = re.compile(r"^(\+86|0086)[\s-]*")

# GB 11643-1999: weights of the first 17 digits, and the check character for sum mod 11.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


def phone(value: object) -> str:
    """A mobile number as its 11 digits; a landline as area code-number[-extension]."""
    text = as_text(value)
    rest = COUNTRY.sub("", text.strip())
    international = rest != text.strip()
    compact = re.sub(r"[\s\-()]", "", rest)
    if MOBILE.fullmatch(compact):
        return compact
    landline = re.sub(r"[\s()]", "", rest)
    if international and not landline.startswith("0"):
        landline = "0" + landline  # +86 10 ... drops the area code's trunk 0
    if LANDLINE.fullmatch(landline):
        return landline
    raise BadCell("not_phone")


def check_digit(first17: str) -> str:
    return CHECK[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def _birth(text: str) -> None:
    try:
        born = date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise BadCell("id_birth_date") from None
    if born.year < 1900 or born > date.today():
        raise BadCell("id_birth_date")


def id_number(value: object) -> str:
    if isinstance(value, float) and value >= 1e15:
        raise BadCell("id_float")  # a double keeps 15-16 significant digits, not 18
    text = as_text(value).replace(" ", "").upper()
    if re.fullmatch(r"\d{17}[\dX]", text):
        _birth(text[6:14])
        expected = check_digit(text[:17])
        if text[17] != expected:
            raise BadCell("id_check_digit", {"expected": expected})
        return text
    if re.fullmatch(r"\d{15}", text):  # first-generation cards: YYMMDD, no check digit
        _birth("19" + text[6:12])
        return text
    raise BadCell("not_id")
