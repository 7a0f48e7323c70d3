"""Staff: account managers, supervisors, risk and compliance officers, admins."""
from __future__ import annotations

import enum

from sqlalchemy import Boolean, Enum, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from crm_core.base import Base, Timestamps


class Role(str, enum.Enum):
    manager = "manager"
    supervisor = "supervisor"
    risk = "risk"
    compliance = "compliance"
    admin = "admin"


PLATFORMS = ("wecom", "dingtalk", "slack")


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)


class Staff(Timestamps, Base):
    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    wecom_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    dingtalk_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    slack_user_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    notify_via: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    team: Mapped[Team | None] = relationship(lazy="joined")
    supervisor: Mapped["Staff | None"] = relationship(remote_side=[id])

    @property
    def team_name(self) -> str | None:
        return self.team.name if self.team else None

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<Staff {self.login} {self.role.value}>"


def get_staff(*, session: Session, login: str) -> Staff | None:
    return session.scalar(select(Staff).where(Staff.login == login))


# platform name -> the Staff attribute holding a person's id on it; filled by the platform registry
# (bot/platforms/registry.py), so a new platform needs only its column here, not a code change.
IDENTITY_COLUMNS: dict[str, str] = {}


def staff_by_platform_id(*, session: Session, platform: str, user_id: str) -> Staff | None:
    """The staff member (active or not: the caller tells an inactive one so) with this platform id."""
    column = getattr(Staff, IDENTITY_COLUMNS[platform])
    return session.scalar(select(Staff).where(column == user_id))


def list_staff(*, session: Session) -> list[Staff]:
    return list(session.scalars(select(Staff).order_by(Staff.id)))


def staff_named(*, session: Session, name: str) -> list[Staff]:
    """Active staff whose name (or login) is `name`, as a person names a colleague in chat."""
    name = name.strip()
    return list(session.scalars(select(Staff).where(Staff.active.is_(True), (Staff.name == name) | (Staff.login == name))
                                .order_by(Staff.id)))
