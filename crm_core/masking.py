"""Personal numbers in free text: resident ID numbers, phone numbers and bank card numbers,
masked as 138****5678. Whatever is stored or logged as words (provenance, audit details, the log
file) passes through here; the numbers themselves are kept only encrypted (crm_core.crypto)."""
from __future__ import annotations

import re

# 18-digit (last may be X) and 15-digit resident ID numbers; 11-digit mobiles (optionally +86,
# spaced or dashed 3-4-4); landlines with a 0 area code (010-12345678, 0571 8888 8888); bank card
# numbers of 16 to 19 digits, optionally in groups of four (GB/T 19584: a PAN is 16-19 digits).
ID_NUMBER = re.compile(r"(?<![\dA-Za-z])(?:\d{17}[\dXx]|\d{15})(?![\dA-Za-z])")
MOBILE = re.compile(r"(?<!\d)((?:\+?86[- ]?)?1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})([- ]?)(\d{3,4})[- ]?(\d{4})(?!\d)")
BANK_CARD = re.compile(r"(?<![\dA-Za-z])(\d{4})((?:[- ]?\d){8,11})[- ]?(\d{4})(?![\dA-Za-z])")

# Keys whose values name things rather than people: a platform's message id (a WeCom MsgId is a
# 19-digit number) is provenance, not a bank card; a futures account number is the firm's own.
IDENTIFIERS = frozenset({"message_id", "request_id", "hash", "prev_hash", "account_no", "accounts"})


def mask_personal(text: str, keep: set[str] = frozenset()) -> tuple[str, dict[str, str]]:
    """The text with ID, phone and bank card numbers masked (138****5678), and {masked: original}.
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
    text = BANK_CARD.sub(masker(lambda m: m.group(1) + "*" * len(re.sub(r"\D", "", m.group(2))) + m.group(3)),
                         text)
    text = MOBILE.sub(masker(lambda m: m.group(1) + "****" + m.group(3)), text)
    text = LANDLINE.sub(masker(lambda m: m.group(1) + m.group(2) + "*" * len(m.group(3)) + m.group(4)), text)
    return text, restore


def masked(text: str | None) -> str | None:
    """The text with its personal numbers masked."""
    return text if not text else mask_personal(text)[0]


def masked_deep(value, key: str | None = None):
    """A JSON-like value with every string in it masked, at any depth; identifiers left alone."""
    if isinstance(value, str):
        return value if key in IDENTIFIERS else masked(value)
    if isinstance(value, dict):
        return {k: masked_deep(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [masked_deep(v, key) for v in value]
    return value


def phones_in(text: str) -> list[str]:
    return [m.group() for pattern in (MOBILE, LANDLINE) for m in pattern.finditer(text)]


def store_text(cipher, text: str | None) -> tuple[str | None, str | None]:
    """Free text as it is stored: (the text masked, the original encrypted when masking changed
    it, else None). `cipher` is a crm_core.crypto.Cipher."""
    shown = masked(text)
    return shown, (cipher.encrypt(text) if shown != text else None)


def stored_words(cipher, shown: str | None, sealed: str | None) -> str | None:
    """The words as written, from what store_text returned."""
    return cipher.decrypt(sealed) if sealed else shown
