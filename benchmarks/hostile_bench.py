"""Hostile requests against `brokerbot serve` (issue 12): random bytes, invalid UTF-8, truncated,
entity-laden and deeply nested XML, deep and odd JSON, extreme numbers and dates, 10 MB bodies,
some unsigned and some signed with the real secrets, on /wecom/callback, /dingtalk/callback (HTTP
mode) and /slack/events, from four processes at once (tests/bot/platforms/test_fuzz.py makes them).

    python benchmarks/hostile_bench.py [--per-route 1700] [--pg URL] [--no-sqlite]

Prints, per database: requests sent and answers by status class (5xx must be 0), transport
errors, /healthz latency p50/p99/max while under fire (probed every 20 ms), and the service's peak
resident memory (VmHWM of the serve process).
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402

import wecom_bench as wb  # noqa: E402
from tests.bot.platforms import test_fuzz as fuzz  # noqa: E402
from tests.fakes.dingtalk_server import FakeDingTalk  # noqa: E402
from tests.fakes.slack_server import FakeSlack  # noqa: E402
from tests.fakes.wecom_server import FakeWeCom  # noqa: E402


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(label: str, pg_url: str | None, args) -> None:
    from bot.app import App
    from bot.settings import Settings
    from crm_core.staff import Role
    from tests import factories as f

    with wb.workdir(False) as folder, wb.database(pg_url, folder) as url, \
            FakeWeCom(corp_id=fuzz.CORP, users={"wangfang"}) as wecom, FakeDingTalk() as dingtalk, FakeSlack() as slack:
        app = App(Settings(database_url=url, secret_key=wb.KEY, data_dir=str(folder), timezone=wb.TZ)).ready()
        with app.db.transaction() as session:
            m1 = f.staff(session, "wangfang", "王芳", Role.manager, wecom_userid="wangfang",
                         dingtalk_userid="manager001", slack_user_id="U0WANG")
            f.client(session, "张三", m1, ["90012345"])
        app.close()
        env = dict(BROKERBOT_WECOM_CORP_ID=fuzz.CORP, BROKERBOT_WECOM_SECRET=wecom.secret,
                   BROKERBOT_WECOM_AGENT_ID=str(wecom.agent_id), BROKERBOT_WECOM_TOKEN=fuzz.TOKEN,
                   BROKERBOT_WECOM_AES_KEY=fuzz.AES_KEY, BROKERBOT_WECOM_API_BASE=wecom.base_url,
                   BROKERBOT_DINGTALK_CLIENT_ID=dingtalk.app_key, BROKERBOT_DINGTALK_CLIENT_SECRET=dingtalk.app_secret,
                   BROKERBOT_DINGTALK_API_BASE=dingtalk.base_url, BROKERBOT_DINGTALK_MODE="http",
                   BROKERBOT_SLACK_BOT_TOKEN=slack.token, BROKERBOT_SLACK_SIGNING_SECRET=fuzz.SLACK_SECRET,
                   BROKERBOT_SLACK_API_BASE=slack.base_url)
        with wb.service(url, folder, None, False, False, env) as (proc, base), httpx.Client(base_url=base, timeout=5) as probe, \
                ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as senders:
            probe.get("/healthz")
            started = time.monotonic()
            runs = [senders.submit(fuzz.fire, base, route, 100 + i, dingtalk.app_secret, args.per_route)
                    for i, route in enumerate(("wecom", "dingtalk", "slack", "huge"))]
            latencies, bad_health = [], 0
            while not all(run.done() for run in runs):
                t = time.monotonic()
                bad_health += probe.get("/healthz").status_code != 200
                latencies.append(time.monotonic() - t)
                time.sleep(0.02)
            results = [run.result() for run in runs]
            took = time.monotonic() - started
            rss = peak_rss_mb(proc.pid)
        answers = [a for got, _ in results for a in got]
        errors = [e for _, got in results for e in got]
        classes = Counter(f"{status // 100}xx" for _, status, _ in answers)
        latencies.sort()
        q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000  # noqa: E731
        print(f"[{label}] {len(answers)} requests in {took:.0f} s: {dict(sorted(classes.items()))}, "
              f"transport errors {len(errors)}")
        print(f"[{label}] /healthz under fire: {len(latencies)} probes, p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms, "
              f"max {latencies[-1] * 1000:.1f} ms, not 200: {bad_health}; serve peak RSS {rss:.0f} MB")
        print(f"[{label}] sent by the bot: WeCom {len(wecom.sent)}, Slack {len(slack.posted)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-route", type=int, default=1700)
    parser.add_argument("--pg", default=os.environ.get("BROKERBOT_TEST_PG_URL"))
    parser.add_argument("--no-sqlite", action="store_true")
    wb.each_database(run, parser.parse_args())


if __name__ == "__main__":
    main()
