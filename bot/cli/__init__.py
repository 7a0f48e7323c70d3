"""The `brokerbot` command. Each sub-command lives in its own module and adds itself to the
one `app` of bot.cli.common; importing them here assembles the command."""
from __future__ import annotations

import logging
import sys

from bot import logs
from bot.cli import audit, chat, db, demo, importing, parse, risk, serve, token  # noqa: F401 - each adds its commands
from bot.cli.common import CommandError, app
from crm_core.config_files import ConfigFileError
from crm_core.db import KeyMismatch, SchemaError

log = logging.getLogger("brokerbot.cli")

# Exceptions whose message is already a sentence for the user.
USER_ERRORS = (CommandError, SchemaError, KeyMismatch, ConfigFileError, FileNotFoundError)


def main() -> None:
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
