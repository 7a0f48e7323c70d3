"""Slack: events and button clicks at /slack/events (with a signing secret) or over Socket Mode
(with an app token), through slack_bolt (adapter.py); messages and files through the Web API
(notifiers/slack.py)."""
from __future__ import annotations

from pydantic import BaseModel, SecretStr
from slack_sdk import WebClient

from bot.platforms.registry import SettingsView
from notifiers.slack import SlackSender


class SlackSettings(BaseModel):
    """BROKERBOT_SLACK_*."""
    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    api_base: str


def _value(secret: SecretStr | None) -> str:
    return secret.get_secret_value() if secret else ""


class Slack(SettingsView):
    settings_model = SlackSettings
    name, label, identity_column, order, routable, dedupe = "slack", "Slack", "slack_user_id", 30, True, True

    def configured(self, settings) -> bool:
        return bool(self.settings(settings).bot_token)

    def sender(self, app) -> SlackSender:
        s = self.settings(app.settings)
        return SlackSender(WebClient(token=_value(s.bot_token), base_url=s.api_base, timeout=5))

    def bolt(self, service):
        """The slack_bolt app (built once per service), for /slack/events and Socket Mode."""
        def build():
            from bot.platforms.slack.adapter import build  # slack_bolt: only when configured

            s = self.settings(service.app.settings)
            return build(service, bot_token=_value(s.bot_token), signing_secret=_value(s.signing_secret),
                         api_base=s.api_base)
        return service.adapter(self.name, build)

    def routers(self, service) -> list:
        s = self.settings(service.app.settings)
        if not (s.bot_token and s.signing_secret):
            return []
        from bot.platforms.slack.adapter import router

        return [router(self.bolt(service), _value(s.signing_secret))]

    def start(self, service) -> None:
        s = self.settings(service.app.settings)
        if s.bot_token and s.app_token:  # Socket Mode: no public URL needed
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            socket = SocketModeHandler(self.bolt(service), _value(s.app_token))
            service.adapter("slack.socket", lambda: socket)
            socket.connect()

    def stop(self, service) -> None:
        socket = service.adapters.get("slack.socket")
        if socket is not None:
            socket.close()


PLATFORM = Slack()
