"""What the sub-commands share: the root command they add themselves to, the one-line error,
building the App, parsing --now."""
from __future__ import annotations

import sys
from datetime import datetime

import typer

from bot import logs
from bot.app import App
from bot.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="brokerbot: chat assistant for futures and securities account managers.")


class CommandError(Exception):
    """A failure to report to the user as one line, exit status 1."""


def make_app(settings: Settings | None = None, *, ensure_schema: bool = True) -> App:
    if settings is None:
        settings = Settings()
        demo = settings.demo_fallback()
        if demo is not None:
            sys.stderr.write("brokerbot: using the demo database in ./brokerbot-demo "
                             "(set BROKERBOT_DATABASE_URL to use another)\n")
            settings = demo
    app = App(settings)
    logs.setup(app.settings.resolved_data_dir(), fmt=app.settings.log_format)
    if ensure_schema:
        app.ready()
    return app


def parse_now(value: str | None, tz) -> datetime:
    """--now: ISO 8601 with an offset. Without it, the current time in the business time zone."""
    if value is None:
        return datetime.now(tz)
    try:
        now = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--now {value!r} is not an ISO 8601 time such as 2026-11-18T09:30:00+08:00") from None
    if now.tzinfo is None:
        raise CommandError(f"--now {value!r} has no UTC offset; add one such as +08:00")
    return now
