"""Clients: lifecycle, type, suitability level, tags, owner manager, encrypted personal data."""
from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import Date, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.base import Base, Provenance, Timestamps
from crm_core.crypto import Cipher, mask_id_number, mask_phone
from crm_core.staff import Staff


class Lifecycle(str, enum.Enum):
    lead = "lead"
    prospect = "prospect"
    opening = "opening"
    active = "active"
    dormant = "dormant"
    closed = "closed"


class ClientType(str, enum.Enum):
    individual = "individual"
    institution = "institution"


RISK_LEVELS = ("C1", "C2", "C3", "C4", "C5")


class Client(Timestamps, Provenance, Base):
    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    client_type: Mapped[ClientType] = mapped_column(
        Enum(ClientType, native_enum=False, length=16), default=ClientType.individual)
    lifecycle: Mapped[Lifecycle] = mapped_column(
        Enum(Lifecycle, native_enum=False, length=16), default=Lifecycle.active)
    risk_level: Mapped[str | None] = mapped_column(String(2))
    birthday: Mapped[date | None] = mapped_column(Date)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    # For leads: what they are interested in and where they came from.
    interest: Mapped[str | None] = mapped_column(String(255))
    lead_source: Mapped[str | None] = mapped_column(String(128))
    # Personal data: Fernet ciphertext plus a keyed hash for exact matching (crm_core.crypto).
    phone_enc: Mapped[str | None] = mapped_column(String(255))
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    id_number_enc: Mapped[str | None] = mapped_column(String(255))
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)

    manager: Mapped[Staff | None] = relationship(lazy="joined")
    tag_rows: Mapped[list["ClientTag"]] = relationship(
        cascade="all, delete-orphan", order_by="ClientTag.tag", lazy="selectin")
    accounts: Mapped[list["Account"]] = relationship(  # noqa: F821 - crm_core.accounts
        back_populates="client", order_by="Account.account_no", lazy="selectin")

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    def set_tags(self, tags: list[str]) -> None:
        wanted = list(dict.fromkeys(t for t in tags if t))
        if wanted == self.tags:
            return
        keep = {row.tag: row for row in self.tag_rows}
        self.tag_rows = [keep.get(tag) or ClientTag(tag=tag) for tag in wanted]

    def set_phone(self, cipher: Cipher, phone: str | None) -> None:
        digest = cipher.blind_index(phone)
        if digest != self.phone_hash:
            self.phone_hash, self.phone_enc = digest, cipher.encrypt(phone)

    def set_id_number(self, cipher: Cipher, id_number: str | None) -> None:
        digest = cipher.blind_index(id_number)
        if digest != self.id_number_hash:
            self.id_number_hash, self.id_number_enc = digest, cipher.encrypt(id_number)

    def masked_phone(self, cipher: Cipher) -> str | None:
        return mask_phone(cipher.decrypt(self.phone_enc))

    def masked_id_number(self, cipher: Cipher) -> str | None:
        return mask_id_number(cipher.decrypt(self.id_number_enc))


class ClientTag(Base):
    __tablename__ = "client_tags"
    __table_args__ = (UniqueConstraint("client_id", "tag"), Index("ix_client_tags_tag", "tag"))
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(64))
