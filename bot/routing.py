"""Where a direct message to a staff member goes (SPEC section 4, staff notify_via)."""
from __future__ import annotations

from bot.settings import Settings
from crm_core.staff import Staff
from notifiers.outbox import UNROUTED

ORDER = ("wecom", "dingtalk", "slack")


def configured_platforms(settings: Settings) -> list[str]:
    on = {
        "wecom": bool(settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id),
        "dingtalk": bool(settings.dingtalk_client_id and settings.dingtalk_client_secret),
        "slack": bool(settings.slack_bot_token),
    }
    return [name for name in ORDER if on[name]]


def identity(staff: Staff, platform: str) -> str | None:
    return {"wecom": staff.wecom_userid, "dingtalk": staff.dingtalk_userid,
            "slack": staff.slack_user_id}[platform]


def direct_channel(staff: Staff, settings: Settings) -> tuple[str, str] | None:
    """(platform, user id): the platform named in notify_via, else the first configured of
    WeCom, DingTalk, Slack on which the person has an identity."""
    platforms = configured_platforms(settings)
    preferred = [staff.notify_via] if staff.notify_via in platforms else []
    for platform in preferred + platforms:
        user = identity(staff, platform)
        if user:
            return platform, user
    return None


NAMES = {"wecom": "WeCom", "dingtalk": "DingTalk", "slack": "Slack"}


def no_route(staff: Staff, settings: Settings) -> str:
    """Why no direct message reaches this person, for the evidence (e.g. "王芳 has no WeCom id")."""
    platforms = configured_platforms(settings)
    reasons = []
    if not any(identity(staff, platform) for platform in ORDER):
        reasons.append(f"{staff.name} has no {'/'.join(NAMES[p] for p in ORDER)} id")
    if not platforms:
        reasons.append("no platform configured")
    elif not reasons:
        reasons.append(f"{staff.name} has no {'/'.join(NAMES[p] for p in platforms)} id")
    return "; ".join(reasons)


def address(staff: Staff, settings: Settings) -> tuple[str, str, str | None]:
    """(outbox channel, target, reason): the person's platform and id, or, when none reaches them,
    the undeliverable address (notifiers.outbox.UNROUTED, their login) and why."""
    route = direct_channel(staff, settings)
    if route is not None:
        return route[0], route[1], None
    return UNROUTED, staff.login, no_route(staff, settings)
