"""Understanding speed and accuracy: the rule recogniser over the evaluation sets in tests/eval/.

    python benchmarks/parse_bench.py [--clients 100000] [--seconds 5]

Prints, for the dev and held-out sets on their own small CRM (tests/eval/clients.yaml): intent
accuracy, slot accuracy and the confusion between intents. Then fills a temporary SQLite CRM with
that many generated clients (one account each) besides the set's own, and prints: how long the
name index takes to build and how much memory it holds (tracemalloc, and the process's resident
set growth), what the old per-message change check (two aggregate queries) would cost, parses per
second on one core through index_for() as the pipeline calls it, and the accuracy at that size.
Target (issue 3): 2,000 parses per second with 100,000 clients.
"""
from __future__ import annotations

import argparse
import gc
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from bot.app import App  # noqa: E402
from bot.settings import Settings  # noqa: E402
from crm_core.accounts import Account  # noqa: E402
from crm_core.clients import Client, ClientType  # noqa: E402
from bot.demo.names import GIVEN_FEMALE, GIVEN_MALE, INSTITUTIONS, SURNAMES  # noqa: E402
from intents.client_index import ClientIndex  # noqa: E402
from intents.mentions import _version, index_for, refresh  # noqa: E402
from intents.rules import RuleRecognizer  # noqa: E402
from tests.intents.test_eval import SETS, evaluate, load_cases, load_clients  # noqa: E402

KEY = "brokerbot-bench-secret-key-0123456789"


def open_app(folder: Path, name: str) -> App:
    return App(Settings(database_url=f"sqlite:///{folder / name}", secret_key=KEY, data_dir=folder,
                        timezone="Asia/Shanghai")).ready()


def print_score(name: str, score) -> None:
    print(f"{name:8} {score.cases:4} utterances  intent accuracy {score.intent_accuracy:6.1%}  "
          f"slot accuracy {score.slot_accuracy:6.1%} ({score.slots_right}/{score.slots_total})  "
          f"frame accuracy {score.frame_accuracy:6.1%}  "
          f"writes saved unconfirmed on a misreading {len(score.unconfirmed_wrong_writes)}")
    if name == "dev":  # the held-out sets' texts are not shown: nobody tunes on them
        for text, want, got, slots in score.unconfirmed_wrong_writes:
            print(f"    unconfirmed wrong write: {text!r} want {want}, read {got} {slots}")


def print_confusion(scores) -> None:
    off = {}
    for score in scores:
        for (want, got), count in score.confusion.items():
            if want != got:
                off[(want, got)] = off.get((want, got), 0) + count
    print("confusion (expected -> recognised, off-diagonal cells only):")
    for (want, got), count in sorted(off.items(), key=lambda kv: -kv[1]) or [(("-", "-"), 0)]:
        print(f"  {want:18} -> {got:18} {count}")


def rss_kib() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4  # resident pages of 4 KiB


def generated_clients(n: int):
    rng = random.Random(20261118)
    surnames = [s for s, _ in SURNAMES]
    weights = [w for _, w in SURNAMES]
    given = GIVEN_MALE + GIVEN_FEMALE
    cities = ["上海", "宁波", "杭州", "苏州", "南京", "无锡", "合肥", "温州"]
    for i in range(n):
        if i % 50 == 0:
            base, _ = INSTITUTIONS[i // 50 % len(INSTITUTIONS)]
            name = f"{rng.choice(cities)}{rng.choice(given)}{rng.choice(given)}{base[4:]}"[:40]
            yield name, ClientType.institution
        else:
            yield rng.choices(surnames, weights)[0] + rng.choice(given), ClientType.individual


def fill(app: App, n: int) -> None:
    with app.db.session() as session:
        load_clients(session)
        rows = [{"name": name, "client_type": kind} for name, kind in generated_clients(n)]
        for chunk in range(0, n, 20_000):
            session.execute(insert(Client), rows[chunk:chunk + 20_000])
        first = session.query(Client.id).order_by(Client.id.desc()).limit(1).scalar() - n + 1
        accounts = [{"account_no": f"6{i:08d}", "client_id": first + i} for i in range(n)]
        for chunk in range(0, n, 20_000):
            session.execute(insert(Account), accounts[chunk:chunk + 20_000])
        session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--accuracy-only", action="store_true", help="the evaluation sets only, no 100k CRM")
    args = parser.parse_args()
    recognizer = RuleRecognizer()
    cases = {name: load_cases(name) for name in SETS}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small = open_app(folder, "eval.db")
        with small.db.session() as session:
            load_clients(session)
            scores = [evaluate(cases[name], recognizer, refresh(ClientIndex(), session)) for name in SETS]
        small.close()
        for name, score in zip(SETS, scores):
            print_score(name, score)
        for name, score in zip(SETS, scores):
            print(f"[{name}] ", end="")
            print_confusion([score])
        if args.accuracy_only:
            return

        print(f"\ngenerating {args.clients:,} clients ...")
        big = open_app(folder, "big.db")
        fill(big, args.clients)
        with big.db.session() as session:
            started = time.perf_counter()
            for _ in range(20):
                _version(session)
            check_ms = (time.perf_counter() - started) / 20 * 1000
            gc.collect()
            before = rss_kib()
            started = time.perf_counter()
            index = index_for(session)
            build = time.perf_counter() - started
            gc.collect()
            grown = rss_kib() - before
            tracemalloc.start()
            second = refresh(ClientIndex(), session)  # a second, traced build, only to count its memory
            traced, _ = tracemalloc.get_traced_memory()
            del second
            tracemalloc.stop()
            print(f"index of {len(index.names):,} clients: built in {build:.1f} s; resident set "
                  f"+{grown / 1024:.1f} MiB, {traced / 2**20:.1f} MiB allocated by tracemalloc's count")
            print(f"change check by count+max(updated_at) on clients and accounts: {check_ms:.2f} ms "
                  f"(now done at most every few seconds, not per message)")
            texts = [case["text"] for name in SETS for case in cases[name]]
            now = cases["dev"][0]["now"]
            done, started = 0, time.perf_counter()
            while time.perf_counter() - started < args.seconds:
                for text in texts:
                    recognizer.recognize(text, index=index_for(session), now=now)
                done += len(texts)
            rate = done / (time.perf_counter() - started)
            print(f"parses per second with {len(index.names):,} clients, one core: {rate:,.0f}")
            for name in SETS:
                print_score(name + "@big", evaluate(cases[name], recognizer, index))
        big.close()


if __name__ == "__main__":
    main()
