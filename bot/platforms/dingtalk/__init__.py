"""DingTalk (钉钉): an app robot. Messages and card clicks over Stream (default: no public URL) or,
in HTTP mode, at /dingtalk/callback (adapter.py); replies and cards through the OpenAPI
(notifiers/dingtalk.py)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, SecretStr

from bot.platforms.dingtalk.adapter import DingTalk
from bot.platforms.registry import SettingsView
from notifiers.dingtalk import DingTalkSender


class DingTalkSettings(BaseModel):
    """BROKERBOT_DINGTALK_*."""
    client_id: str | None = None
    client_secret: SecretStr | None = None
    robot_code: str | None = None
    mode: Literal["stream", "http"] = "stream"
    api_base: str
    webhook_base: str | None = None


class DingTalkPlatform(SettingsView):
    settings_model = DingTalkSettings
    name, label, identity_column, order, routable, dedupe = "dingtalk", "DingTalk", "dingtalk_userid", 20, True, True

    def configured(self, settings) -> bool:
        s = self.settings(settings)
        return bool(s.client_id and s.client_secret)

    def sender(self, app) -> DingTalkSender:
        s = self.settings(app.settings)
        return DingTalkSender(app.db, api_base=s.api_base, client_id=s.client_id,
                              client_secret=s.client_secret.get_secret_value(), robot_code=s.robot_code or s.client_id,
                              cards=s.mode != "http")  # card clicks come over Stream only

    def adapter(self, service):
        """The adapter (built once per service): Stream client, or the router for HTTP mode."""
        def build():
            s = self.settings(service.app.settings)
            return DingTalk(service, client_id=s.client_id, client_secret=s.client_secret.get_secret_value(),
                            api_base=s.api_base, webhook_base=s.webhook_base)
        return service.adapter(self.name, build)

    def routers(self, service) -> list:
        if self.settings(service.app.settings).mode != "http" or not self.configured(service.app.settings):
            return []
        return [self.adapter(service).router()]

    def start(self, service) -> None:
        if self.configured(service.app.settings) and self.settings(service.app.settings).mode != "http":
            self.adapter(service).start_stream()

    def stop(self, service) -> None:
        running = service.adapters.get(self.name)
        if running is not None:
            running.close()


PLATFORM = DingTalkPlatform()
