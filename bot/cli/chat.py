"""`brokerbot chat --as LOGIN [--now ISO]`: the bot in the terminal, through the same pipeline."""
from __future__ import annotations

import sys

import typer

from bot.platforms.terminal.adapter import TerminalSession, run_lines
from bot.cli.common import CommandError, app, make_app, parse_now
from bot.pipeline import Pipeline
from crm_core.staff import get_staff


def open_chat(bot, login: str, now_text: str | None, *, banner: str | None = None) -> None:
    with bot.db.session() as session:
        staff = get_staff(session=session, login=login)
        if staff is None:
            raise CommandError(f"no staff member with login {login!r}; import staff first "
                               "(brokerbot import staff FILE)")
        who = f"{staff.name}（{staff.login}，{staff.role.value}）"
    now = parse_now(now_text, bot.db.tz) if now_text else None
    pipeline = Pipeline(bot)
    chat = TerminalSession(login, pipeline.handle, now=now, tz=bot.db.tz,
                           attachments_dir=bot.settings.resolved_data_dir() / "attachments",
                           saved_line=lambda path: bot.messages.t("attachment_saved", path=path))
    if not sys.stdin.isatty():
        run_lines(chat, sys.stdin, sys.stdout)
        return
    from rich.console import Console
    from rich.prompt import Prompt

    console = Console()
    if banner:
        console.print(banner)
    console.print(f"[bold]brokerbot[/bold] — 您好，{who}。输入“帮助”看看能做什么，Ctrl-D 退出。")
    while True:
        try:
            text = Prompt.ask(f"[cyan]{login}[/cyan]")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if text.strip():
            console.print(chat.show(chat.send(text.strip())), highlight=False, markup=False)
            console.print()


@app.command("chat")
def chat(login: str = typer.Option(..., "--as", help="Talk as this staff login."),
         now: str = typer.Option(None, "--now", help="Fix the clock: ISO 8601 with offset.")) -> None:
    """Talk to the bot in the terminal (one message per line from a pipe)."""
    bot = make_app()
    try:
        open_chat(bot, login, now)
    finally:
        bot.close()
