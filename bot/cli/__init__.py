"""The `brokerbot` command. Each sub-command lives in its own module and registers here."""
from __future__ import annotations

import logging
import sys

import typer

from bot import logs
from bot.config_files import ConfigFileError
from crm_core.db import KeyMismatch, SchemaError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="brokerbot: chat assistant for futures and securities account managers.")

log = logging.getLogger("brokerbot.cli")


class CommandError(Exception):
    """A failure to report to the user as one line, exit status 1."""


# Exceptions whose message is already a sentence for the user.
USER_ERRORS = (CommandError, SchemaError, KeyMismatch, ConfigFileError, FileNotFoundError)


def _register() -> None:
    # each module adds its commands
    from bot.cli import audit, chat, db, demo, importing, parse, risk, serve, token  # noqa: F401


def main() -> None:
    _register()
    cid = logs.new_correlation_id()
    try:
        app()  # standalone mode: usage errors are printed by typer with exit status 2
    except Exception as exc:  # one line for the person, the traceback for the log
        log.error("command failed", exc_info=True)
        if isinstance(exc, USER_ERRORS):
            sys.stderr.write(f"brokerbot: {exc}\n")
        else:
            sys.stderr.write(f"brokerbot: internal error ({type(exc).__name__}); details are in the log "
                             f"under reference {cid}\n")
        sys.exit(1)
