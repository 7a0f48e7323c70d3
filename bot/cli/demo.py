"""`brokerbot demo [--chat]`: a realistic demo database in ./brokerbot-demo/, then `serve` on it
(SPEC section 2), or with --chat the terminal chat as the first account manager."""
from __future__ import annotations

import shutil
from pathlib import Path

import typer
from sqlalchemy import func, select

from bot.cli.chat import open_chat
from bot.cli.common import app, make_app, parse_now
from bot.cli.serve import listen_socket, run_server
from bot.demo.seed import seed_demo
from bot.routing import configured_platforms
from bot.settings import Settings
from crm_core.clients import Client
from crm_core.staff import Staff, list_staff


def _staff_lines(staff: list[Staff]) -> str:
    return "\n".join(f"  {s.login:<10} {s.name}  {s.role.value}{'  ' + s.team_name if s.team_name else ''}"
                     for s in staff)


@app.command("demo")
def demo(login: str = typer.Option(None, "--as", help="Chat as this demo staff login."),
         now: str = typer.Option(None, "--now", help="Fix the clock: ISO 8601 with offset."),
         folder: Path = typer.Option(Path("brokerbot-demo"), "--dir", help="Where the demo database lives."),
         reset: bool = typer.Option(False, "--reset", help="Throw the demo database away and build it again."),
         chat: bool = typer.Option(False, "--chat", help="Talk to the bot in the terminal instead of serving."),
         host: str = typer.Option("127.0.0.1", "--host", help="Address to serve on."),
         port: int = typer.Option(8080, "--port", help="Port to serve on."),
         serve: bool = typer.Option(True, "--serve/--no-serve", hidden=True,
                                    help="Build the database only (for scripts).")) -> None:
    """Build the demo database (first run), then serve it, or talk to it in the terminal (--chat)."""
    if reset and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    settings = Settings(database_url=f"sqlite:///{(folder / 'brokerbot.db').resolve()}",
                        data_dir=folder.resolve(), secret_key=None)
    bot = make_app(settings, ensure_schema=False)
    sock = None
    try:
        if serve and not chat:  # a busy port says so before any work
            sock = listen_socket(host, port)
        bot.db.upgrade()  # the demo's own database follows this version's schema by itself
        bot.ready()
        moment = parse_now(now, bot.db.tz)
        with bot.db.transaction() as session:
            fresh = not session.scalar(select(func.count(Client.id)))
            if fresh:
                summary = seed_demo(session=session, now=moment)
        with bot.db.session() as session:
            staff = list_staff(session=session)
        first = next(s for s in staff if s.role.value == "manager")
        who = login or first.login
        if fresh:
            intro = (f"演示数据已生成：{summary.clients} 位客户、{summary.accounts} 个账户、"
                     f"{summary.snapshots} 条资金快照、{summary.positions} 条持仓，在 {folder}/。")
        else:
            intro = f"使用已有的演示数据 {folder}/（--reset 可重建）。"
        banner = "\n".join([
            intro,
            "可以用这些身份在终端里聊（brokerbot demo --chat --as LOGIN）：",
            _staff_lines(staff),
            "试试：张三的保证金还够吗 / 他的持仓呢 / 张伟的保证金 / 李四的保证金 / "
            "今天下午拜访了张三，聊了套保方案，下周二再跟进 / 风险度超过80%的客户",
        ])
        typer.echo(banner, err=True)
        if chat:
            open_chat(bot, who, now)
            return
        if sock is None:
            return
        platforms = configured_platforms(bot.settings)
        typer.echo("\n".join([
            f"服务启动于 http://{host}:{port} （/healthz 健康检查，/docs REST API 文档）。",
            f"已配置的平台：{', '.join(platforms)}" if platforms else
            "尚未配置聊天平台：按 README 设置 BROKERBOT_WECOM_*、BROKERBOT_DINGTALK_* 或 BROKERBOT_SLACK_* 后重新运行；",
            f"在终端里试：brokerbot demo --chat --as {who}    Ctrl+C 停止服务。",
        ]), err=True)
    except BaseException:
        if sock is not None:
            sock.close()
        raise
    finally:
        bot.close()
    if sock is not None:
        run_server(make_app(settings), sock)
