"""`brokerbot parse [--now ISO] [TEXT]`: the recognised intent and slots, one JSON line each.

Client names come from the CRM (BROKERBOT_DATABASE_URL); the recogniser is the bot's own: the
rules, and the LLM only when BROKERBOT_LLM_* configure one and the rules are unsure."""
from __future__ import annotations

import json
import sys

import typer

from bot.cli.common import app, make_app, parse_now
from intents.mentions import index_for
from intents.recognize import build_recognizer
from intents.registry import PACKAGES, load_all


@app.command("parse")
def parse(text: str = typer.Argument(None, help="The message; without it, one message per line from stdin."),
          now: str = typer.Option(None, "--now", help="Fix the clock: ISO 8601 with offset.")) -> None:
    """Print the intent and slots the bot recognises, as JSON."""
    bot = make_app()
    try:
        moment = parse_now(now, bot.db.tz).astimezone(bot.db.tz)
        load_all((*PACKAGES, *bot.settings.intent_packages))  # plug-in intents are recognised too
        recognizer = build_recognizer(bot.settings)
        lines = [text] if text is not None else (line.rstrip("\r\n") for line in sys.stdin)
        with bot.db.session() as session:
            for line in lines:
                if not line.strip():
                    continue
                intent = recognizer.recognize(line, index=index_for(session), now=moment)
                sys.stdout.write(json.dumps(intent.as_json(), ensure_ascii=False) + "\n")
                sys.stdout.flush()
    finally:
        bot.close()
