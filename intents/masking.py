"""Personal data that must not leave the machine: resident ID numbers and phone numbers,
masked as 138****5678 with a map to restore them locally."""
from __future__ import annotations

import re

# 18-digit (last may be X) and 15-digit resident ID numbers; 11-digit mobiles (optionally +86,
# spaced or dashed 3-4-4); landlines with a 0 area code (010-12345678, 0571 8888 8888).
ID_NUMBER = re.compile(r"(?<![\dA-Za-z])(?:\d{17}[\dXx]|\d{15})(?![\dA-Za-z])")
MOBILE = re.compile(r"(?<!\d)((?:\+?86[- ]?)?1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})([- ]?)(\d{3,4})[- ]?(\d{4})(?!\d)")


def mask_personal(text: str, keep: set[str] = frozenset()) -> tuple[str, dict[str, str]]:
    """The text with ID and phone numbers masked (138****5678), and {masked: original}.
    Numbers in `keep` (known account numbers) are left as they are."""
    restore: dict[str, str] = {}

    def masker(build):
        def sub(m: re.Match) -> str:
            if m.group() in keep:
                return m.group()
            masked = build(m)
            restore.setdefault(masked, m.group())
            return masked
        return sub

    text = ID_NUMBER.sub(masker(lambda m: m.group()[:3] + "*" * (len(m.group()) - 7) + m.group()[-4:]), text)
    text = MOBILE.sub(masker(lambda m: m.group(1) + "****" + m.group(3)), text)
    text = LANDLINE.sub(masker(lambda m: m.group(1) + m.group(2) + "*" * len(m.group(3)) + m.group(4)), text)
    return text, restore


def phones_in(text: str) -> list[str]:
    return [m.group() for pattern in (MOBILE, LANDLINE) for m in pattern.finditer(text)]
