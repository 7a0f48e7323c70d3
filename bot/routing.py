"""Where a direct message to a staff member goes (SPEC section 4, staff notify_via)."""
from __future__ import annotations

from bot.settings import Settings
from crm_core.staff import Staff

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
