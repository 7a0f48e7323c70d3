"""Changes to a client's own data from chat (update_client): a tag added or removed, the phone
number, the birthday. Each change is audited with what it was before, so that it can be undone
(crm_core.undo): a phone number only masked in the words and encrypted in `*_sealed`."""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from crm_core import audit
from crm_core.audit import AuditEntry
from crm_core.base import Source
from crm_core.clients import Client
from crm_core.crypto import Cipher, mask_phone
from crm_core.db import cipher_of
from crm_core.masking import masked
from crm_core.staff import Staff

FIELDS = ("add_tag", "remove_tag", "phone", "birthday")
TAG_MAX = 64  # ClientTag.tag


def sealed(cipher: Cipher, token: str | None) -> str | None:
    """An encrypted value as the audit log can keep it: the log masks anything that looks like a
    personal number, so a ciphertext that happens to hold one is encrypted again (fresh IV)."""
    while token is not None and masked(token) != token:
        token = cipher.encrypt(cipher.decrypt(token))
    return token


def update_client(*, session: Session, actor: Staff, client: Client, field: str, value: str | date | None,
                  source: Source | None = None, action: str = "client.update", extra: dict | None = None
                  ) -> AuditEntry:
    """Apply one change and audit it (`action`, with `extra` in the details). `value`: the tag,
    the phone number (digits) or None, the birthday or None."""
    if field not in FIELDS:
        raise ValueError(f"unknown field {field!r}")
    cipher = cipher_of(session)
    details: dict = {"client_id": client.id, "field": field, **(extra or {})}
    if field == "add_tag":
        client.set_tags(client.tags + [str(value)])
        details["tag"] = value
    elif field == "remove_tag":
        client.set_tags([tag for tag in client.tags if tag != value])
        details["tag"] = value
    elif field == "phone":
        before = client.phone_enc
        client.set_phone(cipher, value or None)
        details.update(before=mask_phone(cipher.decrypt(before)), after=mask_phone(value or None),
                       before_sealed=sealed(cipher, before), after_sealed=sealed(cipher, client.phone_enc))
    else:
        details.update(before=client.birthday.isoformat() if client.birthday else None,
                       after=value.isoformat() if value else None)
        client.birthday = value or None
    client.set_source(source)
    session.flush()
    return audit.record(session=session, actor=actor.login, action=action, entity="client", entity_id=client.id,
                        details=details, source=source)
