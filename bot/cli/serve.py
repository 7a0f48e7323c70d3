"""`brokerbot serve [--host H] [--port P]`."""
from __future__ import annotations

import contextlib
import signal

import typer

from bot.cli import app
from bot.cli.common import make_app


@app.command("serve")
def serve(host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
          port: int = typer.Option(8080, "--port", help="Port to listen on.")) -> None:
    """Run the service: platform callbacks, REST API, scheduler (reminders, outbox delivery,
    risk sweeps), /healthz."""
    run_server(make_app(), host, port)


def run_server(bot, host: str, port: int) -> None:
    import uvicorn

    from bot.http import create_app
    from bot.service import Service

    server = uvicorn.Server(uvicorn.Config(create_app(Service(bot)), host=host, port=port, log_config=None,
                                           timeout_graceful_shutdown=10))

    # SIGTERM/SIGINT stop the service gracefully and the command exits 0 (uvicorn's own
    # handlers re-raise the signal after shutdown, which makes a clean stop look like a crash).
    def stop(signum, frame) -> None:
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True

    server.capture_signals = contextlib.nullcontext
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.run()
