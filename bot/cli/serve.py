"""`brokerbot serve [--host H] [--port P]`."""
from __future__ import annotations

import contextlib
import errno
import signal
import socket

import typer

from bot.cli.common import CommandError, app, make_app


@app.command("serve")
def serve(host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
          port: int = typer.Option(8080, "--port", help="Port to listen on.")) -> None:
    """Run the service: platform callbacks, REST API, scheduler (reminders, outbox delivery,
    risk sweeps), /healthz."""
    bot = make_app()
    try:
        sock = listen_socket(host, port)
    except BaseException:
        bot.close()
        raise
    run_server(bot, sock)


def _bind(host: str, port: int) -> socket.socket:
    # uvicorn's own choices (uvicorn/config.py bind_socket): IPv6 when the host has a colon, SO_REUSEADDR
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def listen_socket(host: str, port: int) -> socket.socket:
    """The socket the service will listen on, taken before anything is printed, so that a busy
    port is reported at once (with the next free one) instead of after the banner."""
    try:
        return _bind(host, port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    for other in range(port + 1, min(port + 100, 65536)):
        try:
            _bind(host, other).close()
        except OSError:
            continue
        raise CommandError(f"port {port} is in use; try --port {other}")
    raise CommandError(f"port {port} is in use; choose another with --port")


def run_server(bot, sock: socket.socket) -> None:
    import uvicorn

    from bot.http import create_app
    from bot.service import Service

    host, port = sock.getsockname()[:2]
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
    server.run(sockets=[sock])
