"""Where a direct message to a staff member goes (SPEC section 4, staff notify_via), over the
platform registry (bot/platforms/registry.py)."""
from __future__ import annotations

from bot.platforms import registry
from bot.settings import Settings
from crm_core.staff import Staff
from notifiers.outbox import UNROUTED


def configured_platforms(settings: Settings) -> list[str]:
    """The platforms that carry direct messages and are configured, in routing order."""
    return [platform.name for platform in registry.configured(settings)]


def identity(staff: Staff, platform: str) -> str | None:
    return getattr(staff, registry.get(platform).identity_column)


def direct_channel(staff: Staff, settings: Settings) -> tuple[str, str] | None:
    """(platform, user id): the platform named in notify_via, else the first configured (in the
    registry's order: WeCom, DingTalk, Slack) on which the person has an identity."""
    platforms = configured_platforms(settings)
    preferred = [staff.notify_via] if staff.notify_via in platforms else []
    for platform in preferred + platforms:
        user = identity(staff, platform)
        if user:
            return platform, user
    return None


def no_route(staff: Staff, settings: Settings) -> str:
    """Why no direct message reaches this person, for the evidence (e.g. "王芳 has no WeCom id")."""
    every = [p for p in registry.platforms() if p.routable]
    platforms = registry.configured(settings)
    reasons = []
    if not any(identity(staff, p.name) for p in every):
        reasons.append(f"{staff.name} has no {'/'.join(p.label for p in every)} id")
    if not platforms:
        reasons.append("no platform configured")
    elif not reasons:
        reasons.append(f"{staff.name} has no {'/'.join(p.label for p in platforms)} id")
    return "; ".join(reasons)


def address(staff: Staff, settings: Settings) -> tuple[str, str, str | None]:
    """(outbox channel, target, reason): the person's platform and id, or, when none reaches them,
    the undeliverable address (notifiers.outbox.UNROUTED, their login) and why."""
    route = direct_channel(staff, settings)
    if route is not None:
        return route[0], route[1], None
    return UNROUTED, staff.login, no_route(staff, settings)
