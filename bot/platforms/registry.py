"""The platform registry. Every package under bot/platforms/ whose module defines `PLATFORM` is a
platform; the service (senders, long connections), the HTTP app (callback routes), routing
(notify_via, identities) and the pipeline (identity, dedupe) loop over it. Adding a platform is one
package here plus its identity column on Staff (crm_core/staff.py).

    class MyPlatform:
        name = "myplatform"          # ChatEvent.platform, the outbox channel, staff notify_via
        label = "MyPlatform"         # in evidence: "王芳 has no WeCom/MyPlatform id"
        identity_column = "my_id"    # the Staff attribute holding the person's id on it
        order = 40                   # direct messages fall back to the configured platforms in order
        routable = True              # carries direct messages (the terminal does not)
        dedupe = True                # an event id answered once, durably (the terminal has no retries)
        def configured(self, settings) -> bool: ...
        def sender(self, app): ...               # notifiers.outbox.Sender, or None
        def routers(self, service) -> list: ... # FastAPI routers for its callbacks
        def start(self, service) -> None: ...   # long connections (Stream, Socket Mode)
        def stop(self, service) -> None: ...
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Protocol, runtime_checkable

import bot.platforms
from crm_core.staff import IDENTITY_COLUMNS


@runtime_checkable
class Platform(Protocol):
    name: str
    label: str
    identity_column: str
    order: int
    routable: bool
    dedupe: bool

    def configured(self, settings) -> bool: ...

    def sender(self, app) -> Any: ...

    def routers(self, service) -> list: ...

    def start(self, service) -> None: ...

    def stop(self, service) -> None: ...


_platforms: dict[str, Platform] = {}
_loaded = False


def register(platform: Platform) -> Platform:
    """Adds a platform (the discovered packages, or one a test brings); the same name replaces."""
    if not isinstance(platform, Platform):
        raise TypeError(f"{platform!r} is not a Platform")
    _platforms[platform.name] = platform
    IDENTITY_COLUMNS[platform.name] = platform.identity_column
    return platform


def unregister(name: str) -> None:
    _platforms.pop(name, None)
    IDENTITY_COLUMNS.pop(name, None)


def load_all() -> dict[str, Platform]:
    """Discovers bot/platforms/<name>/ once (pkgutil); returns name -> platform."""
    global _loaded
    if not _loaded:
        for info in pkgutil.iter_modules(bot.platforms.__path__, "bot.platforms."):
            if info.ispkg:
                platform = getattr(importlib.import_module(info.name), "PLATFORM", None)
                if platform is not None:
                    register(platform)
        _loaded = True
    return _platforms


def platforms() -> list[Platform]:
    """Every platform, in routing order."""
    return sorted(load_all().values(), key=lambda p: p.order)


def get(name: str) -> Platform | None:
    return load_all().get(name)


def configured(settings) -> list[Platform]:
    """The platforms that carry direct messages and that the settings configure, in order."""
    return [p for p in platforms() if p.routable and p.configured(settings)]


def settings_view(model, settings, prefix: str):
    """A platform's settings model read from the flat Settings: field `secret` of `model` is
    Settings' `<prefix>secret` (BROKERBOT_WECOM_SECRET, TOML `wecom_secret`)."""
    return model(**{field: getattr(settings, prefix + field) for field in model.model_fields})


class SettingsView:
    """For a platform class: `settings(settings)` reads its `settings_model` from the flat Settings
    under the platform's name (BROKERBOT_<NAME>_*)."""

    name: str
    settings_model: type

    def settings(self, settings):
        return settings_view(self.settings_model, settings, f"{self.name}_")
