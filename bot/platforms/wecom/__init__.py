"""WeCom (企业微信): a self-built app. Direct messages through its app API (notifiers/wecom.py);
with a callback token and AES key, messages and card clicks arrive at /wecom/callback (adapter.py)."""
from __future__ import annotations

from pydantic import BaseModel, SecretStr

from bot.platforms.registry import SettingsView
from notifiers.wecom import WeComClient


class WeComSettings(BaseModel):
    """BROKERBOT_WECOM_*."""
    corp_id: str | None = None
    agent_id: str | None = None
    secret: SecretStr | None = None
    token: SecretStr | None = None
    aes_key: SecretStr | None = None
    api_base: str


class WeCom(SettingsView):
    settings_model = WeComSettings
    name, label, identity_column, order, routable, dedupe = "wecom", "WeCom", "wecom_userid", 10, True, True

    def configured(self, settings) -> bool:
        s = self.settings(settings)
        return bool(s.corp_id and s.secret and s.agent_id)

    def sender(self, app) -> WeComClient:
        s = self.settings(app.settings)
        return WeComClient(app.db, api_base=s.api_base, corp_id=s.corp_id, secret=s.secret.get_secret_value(),
                           agent_id=s.agent_id)

    def routers(self, service) -> list:
        s = self.settings(service.app.settings)
        if not (s.token and s.aes_key and s.corp_id):
            return []
        from bot.platforms.wecom import adapter  # wechatpy: only when the callback is configured

        return [adapter.router(service, token=s.token.get_secret_value(), aes_key=s.aes_key.get_secret_value(),
                               corp_id=s.corp_id)]

    def start(self, service) -> None:
        pass

    def stop(self, service) -> None:
        pass


PLATFORM = WeCom()
