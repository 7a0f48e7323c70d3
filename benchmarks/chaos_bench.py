"""Faults while people talk to the bot (issue 12): `brokerbot serve` with WeCom played by the fake
on loopback, where a share of message/send calls fail (HTTP 500, errcode -1, or silence past the
client's timeout), and the service killed with SIGKILL twice while it is answering, then started
again. WeCom's own behaviour is played too: a callback that gets no 200 is posted again, up to three
times over about 15 s (its documented retries).

    python benchmarks/chaos_bench.py [--senders 20] [--messages 10] [--failures 0.3] [--kills 2]
                                     [--pg URL] [--no-sqlite] [--keep]

Each sender asks about a different one of its clients in every message ("<client>的保证金还够吗"),
so each answer names its question. Prints, per database: messages sent, accepted, answered
exactly once, lost (no answer at all) and duplicated (answered more than once), the send
failures the fake injected, and how long the last answer took after the last kill.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402

import wecom_bench as wb  # noqa: E402
from bot.app import App  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.fakes.wecom_crypto import CallbackClient  # noqa: E402
from tests.fakes.wecom_server import FakeWeCom  # noqa: E402

RETRIES = (5.0, 5.0, 5.0)  # WeCom posts a callback again after 5 s without an answer, three times


def post_like_wecom(base: list[str], envelope, stats: Counter) -> None:
    """One callback as WeCom sends it: again after each failure, three times at most."""
    query, body = envelope
    for wait in (0.0, *RETRIES):
        time.sleep(wait)
        try:
            answer = httpx.post(f"{base[0]}/wecom/callback", params=query, content=body.encode(), timeout=5)
            if answer.status_code == 200:
                stats["accepted"] += 1
                return
            stats[f"http {answer.status_code}"] += 1
        except httpx.HTTPError:
            stats["connection failed"] += 1
    stats["given up by WeCom"] += 1


def run(label: str, pg_url: str | None, args) -> None:
    with wb.workdir(args.keep) as folder, wb.database(pg_url, folder) as url:
        settings = Settings(database_url=url, secret_key=wb.KEY, data_dir=str(folder), timezone=wb.TZ)
        app = App(settings).ready()
        senders, about = wb.seed(app, args.senders)
        app.close()
        fake = FakeWeCom(corp_id=wb.CORP, per_user_minute=10**6, per_user_hour=10**6, webhook_minute=10**6,
                         clock=time.perf_counter, chaos=args.failures, timeout_delay=6.0, seed=1)
        wx = CallbackClient(token=wb.TOKEN, encoding_aes_key=wb.AES_KEY, corp_id=wb.CORP)
        asked: dict[str, list[str]] = {}
        envelopes = []
        msg_id = 9_000_000
        for s in senders:
            clients = [c for c in s.clients][: args.messages]
            asked[s.userid] = clients
            for client in clients:
                msg_id += 1
                envelopes.append(wx.text(s.userid, f"{client}的保证金还够吗", msg_id=msg_id))
        random.Random(7).shuffle(envelopes)
        stats: Counter = Counter()
        with fake:
            base = [""]
            ctx = wb.service(url, folder, fake, False, False)
            proc, base[0] = ctx.__enter__()
            pool = ThreadPoolExecutor(max_workers=32)
            posted = [pool.submit(post_like_wecom, base, e, stats) for e in envelopes[: len(envelopes) // 2]]
            kills = []
            for k in range(args.kills):
                time.sleep(1.5)
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills.append(time.monotonic())
                ctx.__exit__(None, None, None)
                if k == 0:  # the rest of the messages arrive while the service is down and restarting
                    posted += [pool.submit(post_like_wecom, base, e, stats) for e in envelopes[len(envelopes) // 2:]]
                ctx = wb.service(url, folder, fake, False, False)
                proc, base[0] = ctx.__enter__()
            for p in posted:
                p.result()
            deadline = time.monotonic() + args.settle
            last = time.monotonic()
            while time.monotonic() < deadline:
                got = answered(fake, asked)
                if all(got[(u, c)] >= 1 for u, cs in asked.items() for c in cs):
                    last = time.monotonic()
                    break
                time.sleep(0.5)
            time.sleep(3)  # late duplicates
            ctx.__exit__(None, None, None)
        got = answered(fake, asked)
        total = sum(len(cs) for cs in asked.values())
        lost = sum(1 for u, cs in asked.items() for c in cs if got[(u, c)] == 0)
        dup = sum(got[(u, c)] - 1 for u, cs in asked.items() for c in cs if got[(u, c)] > 1)
        failed_calls = sum(1 for _m, p in fake.requests if p == "/cgi-bin/message/send") - len(fake.sent)
        print(f"[{label}] {about}")
        print(f"[{label}] messages {total}, callbacks {dict(stats)}, kills {len(kills)}, "
              f"send calls {fake.count('/cgi-bin/message/send')} of which failed {failed_calls} "
              f"({args.failures:.0%} injected)")
        print(f"[{label}] answered once {total - lost - sum(1 for u, cs in asked.items() for c in cs if got[(u, c)] > 1)}, "
              f"lost {lost}, duplicated {dup} ({dup / total:.1%}); all answered "
              f"{last - kills[-1]:.1f} s after the last kill" if kills else "")


def answered(fake: FakeWeCom, asked: dict[str, list[str]]) -> Counter:
    got: Counter = Counter()
    with fake.lock:
        sent = list(fake.sent)
    for d in sent:
        text = (d.body.get("text") or {}).get("content", "") + str(d.body.get("template_card") or "")
        for client in asked.get(d.user, []):
            if client in text:
                got[(d.user, client)] += 1
                break
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--failures", type=float, default=0.3)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--settle", type=float, default=180.0)
    parser.add_argument("--pg", default=os.environ.get("BROKERBOT_TEST_PG_URL"))
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--keep", action="store_true")
    wb.each_database(run, parser.parse_args())


if __name__ == "__main__":
    main()
