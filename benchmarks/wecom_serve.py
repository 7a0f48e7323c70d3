"""`brokerbot serve` with stopwatches, for `benchmarks/wecom_bench.py --diagnose`: the same command in
the same process, with wall-clock timers around the steps one WeCom message takes, the time a task
waits in a thread pool before a worker picks it up, SQL statement time and connection-pool checkout
waits; with a second path, cProfile in every thread. Nothing in the project is changed on disk.

    python benchmarks/wecom_serve.py TIMINGS.json [PROFILE.pstats|-] serve --port P

Writes TIMINGS.json when the service stops: per timer its count, total, mean, p50, p99 and max
wall-clock seconds and the CPU seconds its threads spent inside it; the event loop thread's CPU
time; how many database connections were opened and closed; and the process's CPU time.
"""
from __future__ import annotations

import cProfile
import functools
import json
import pstats
import resource
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

TIMES: dict[str, list[float]] = defaultdict(list)  # list.append is atomic under the GIL
# CPU seconds of the calling thread (time.thread_time) spent inside a timer: unlike wall time this
# leaves out waits for locks, the database, the network and the GIL.
CPU: dict[str, list[float]] = defaultdict(list)
COUNTS: dict[str, int] = defaultdict(int)
LOOP_STARTED_CPU = [0.0]  # the event loop thread's CPU time when the service started


def timed(name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[name].append(time.perf_counter() - started)
            CPU[name].append(time.thread_time() - cpu)
    return wrapper


MISSING: list[str] = []  # timers whose function the code no longer has


def wrap(owner, attr: str, name: str) -> None:
    if not hasattr(owner, attr):
        MISSING.append(f"{getattr(owner, '__name__', owner)}.{attr}")
        return
    setattr(owner, attr, timed(name, getattr(owner, attr)))


def install() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session
    from sqlalchemy.pool import Pool, QueuePool
    from wechatpy.enterprise.crypto import WeChatCrypto

    import bot.platforms.wecom.adapter as adapter
    import bot.pipeline as pipeline
    from crm_core import conversations
    from notifiers.outbox import Dispatcher
    from notifiers.wecom import WeComClient

    wrap(WeChatCrypto, "decrypt_message", "callback: decrypt (wechatpy)")
    wrap(WeChatCrypto, "encrypt_message", "callback: encrypt passive reply (wechatpy)")
    wrap(adapter, "_event", "callback: parse XML")
    wrap(pipeline, "claim", "pipeline: dedupe, claim MsgId (insert + commit)")
    wrap(adapter, "enqueue_reply" if hasattr(adapter, "enqueue_reply") else "enqueue",
         "callback: enqueue reply in outbox (no commit)")
    wrap(pipeline.Pipeline, "handle", "pipeline: whole message")
    wrap(pipeline, "staff_by_platform_id", "pipeline: identity lookup")
    wrap(conversations, "load_state", "pipeline: load conversation")
    wrap(conversations, "save_state", "pipeline: save conversation (no flush)")
    wrap(pipeline, "index_for", "pipeline: client index (check/refresh)")
    wrap(pipeline.Pipeline, "respond", "pipeline: recognise + handler")
    wrap(Session, "commit", "sqlalchemy: Session.commit (flush + COMMIT)")
    wrap(QueuePool, "_do_get", "sqlalchemy: pool checkout")
    wrap(Dispatcher, "run_once", "outbox: Dispatcher.run_once")
    wrap(Dispatcher, "_claim", "outbox: claim due rows")
    wrap(WeComClient, "send", "outbox: WeComClient.send (token + HTTP)")
    wrap(WeComClient, "_call", "outbox: WeCom API HTTP call")

    import bot.http

    create_app = bot.http.create_app

    def timed_app(service):
        return _asgi_timer(create_app(service))

    bot.http.create_app = timed_app  # bot.cli.serve imports it when the command runs

    submit = ThreadPoolExecutor.submit

    def queued(self, fn, /, *args, **kwargs):
        name = f"pool {self._thread_name_prefix or 'default'}: wait before a worker starts"
        enqueued = time.perf_counter()

        def run():
            TIMES[name].append(time.perf_counter() - enqueued)
            cpu = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                CPU[f"pool {self._thread_name_prefix or 'default'}: its tasks"].append(time.thread_time() - cpu)

        return submit(self, run)

    ThreadPoolExecutor.submit = queued

    @event.listens_for(Engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_started", []).append((time.perf_counter(), time.thread_time()))

    @event.listens_for(Engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        verb = statement.lstrip().split(None, 1)[0].upper()
        started, cpu = conn.info["bench_started"].pop()
        TIMES[f"sql: {verb}"].append(time.perf_counter() - started)
        CPU[f"sql: {verb}"].append(time.thread_time() - cpu)

    @event.listens_for(Pool, "connect")
    def _opened(dbapi_connection, record):
        COUNTS["database connections opened"] += 1

    @event.listens_for(Pool, "close")
    def _closed(dbapi_connection, record):
        COUNTS["database connections closed"] += 1


def _asgi_timer(api):
    """The app, timing each HTTP request inside the service, and the event loop's lag: how late a
    10 ms sleep wakes up (the loop thread waits for the GIL like every other thread)."""
    import asyncio

    async def lag() -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            TIMES["event loop: lateness of a 10 ms sleep"].append(time.perf_counter() - started - 0.01)

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            app.lag = asyncio.get_running_loop().create_task(lag())
            LOOP_STARTED_CPU[0] = time.thread_time()
        if scope["type"] != "http":
            return await api(scope, receive, send)
        started = time.perf_counter()
        try:
            return await api(scope, receive, send)
        finally:
            TIMES[f"http: {scope['method']} {scope['path']} inside the service"].append(time.perf_counter() - started)

    return app


def summary() -> dict:
    out = {}
    for name, values in sorted(TIMES.items()):
        ordered = sorted(values)
        n = len(ordered)
        out[name] = {"count": n, "total": sum(ordered), "mean": sum(ordered) / n,
                     "p50": ordered[n // 2], "p99": ordered[min(n - 1, int(n * 0.99))], "max": ordered[-1],
                     "cpu": sum(CPU.get(name, [])) if name in CPU else None}
    for name, values in CPU.items():
        if name not in out:
            out[name] = {"count": len(values), "cpu": sum(values)}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"timers": out, "cpu_user": usage.ru_utime, "cpu_system": usage.ru_stime, "missing": MISSING,
            "counts": dict(COUNTS), "loop_cpu": time.thread_time() - LOOP_STARTED_CPU[0]}


def profile_all_threads() -> list[cProfile.Profile]:
    """One cProfile per thread: the hook threading.setprofile installs runs once in each new thread
    and replaces itself with that thread's profiler."""
    profiles = [cProfile.Profile()]

    def start(*_):
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()

    threading.setprofile(start)
    profiles[0].enable()
    return profiles


def main() -> None:
    timings, profile_path, serve_args = sys.argv[1], sys.argv[2], sys.argv[3:]
    install()
    profiles = profile_all_threads() if profile_path != "-" else []
    sys.argv = ["brokerbot", *serve_args]
    try:
        from bot.cli import main as brokerbot
        brokerbot()
    finally:
        with open(timings, "w", encoding="utf-8") as handle:
            json.dump(summary(), handle, indent=1)
        merged = None
        for profile in reversed(profiles):  # the main thread's last: create_stats disables it
            try:
                stats = pstats.Stats(profile)
            except TypeError:  # a thread that ran no Python code
                continue
            merged = stats if merged is None else merged.add(stats)
        if merged is not None:
            merged.dump_stats(profile_path)


if __name__ == "__main__":
    main()
