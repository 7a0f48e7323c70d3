"""Import speed: a staff file, N clients (one account each, with phone and ID number, so every
row is encrypted) and N margin snapshots, through the same code as `brokerbot import`.

    python benchmarks/import_bench.py                      # temporary SQLite file
    python benchmarks/import_bench.py --database-url postgresql+psycopg://...

Target (issue): 100,000 clients and 100,000 snapshots, each in under 60 s. Prints rows per
second for each file, for a second import of the same files (nothing changes), and the total.
"""
from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bot.app import App
from bot.cli.importing import import_files
from bot.settings import Settings
from crm_core.crypto import generate_key
from crm_core.importers.personal import check_digit

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红文斌海燕鹏飞宇浩然欣怡子涵"


def write_csv(path: Path, header: list[str], rows) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        out.writerows(rows)
    return path


def generate(folder: Path, n_clients: int, n_snapshots: int, managers: int = 200) -> dict[str, Path]:
    rng = random.Random(20261118)
    staff = [("sup1", "主管一", "supervisor", "一部", "", "", "", "", "")] + [
        (f"m{i:04d}", f"经理{i}", "manager", "一部", "sup1", "", "", "", "") for i in range(managers)]
    born = date(1950, 1, 1)

    def client(i: int):
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
        birthday = born + timedelta(days=i % 18000)
        first17 = f"110105{birthday:%Y%m%d}{i // 18000:03d}"
        return (name, f"8{i:08d}", f"13{rng.randint(0, 999999999):09d}", first17 + check_digit(first17),
                f"m{i % managers:04d}", f"C{rng.randint(1, 5)}", rng.choice(["", "VIP", "VIP;程序化"]),
                birthday.isoformat(), "individual")

    def snapshot(i: int):
        balance = rng.randint(10_000_00, 50_000_000_00)
        margin = rng.randint(0, balance)
        return (f"8{i % n_clients:08d}", f"2026-11-18T{9 + i // n_clients % 6:02d}:30:00+08:00", "20261118",
                f"{balance / 100:.2f}", f"{margin / 100:.2f}", f"{margin * 9 // 10 / 100:.2f}", "0.00")

    return {
        "staff": write_csv(folder / "staff.csv", ["login", "name", "role", "team", "supervisor", "wecom_userid",
                                                  "dingtalk_userid", "slack_user_id", "notify_via"], staff),
        "clients": write_csv(folder / "clients.csv", ["name", "account_no", "phone", "id_number", "manager",
                                                      "risk_level", "tags", "birthday", "client_type"],
                             (client(i) for i in range(n_clients))),
        "snapshots": write_csv(folder / "snapshots.csv", ["account_no", "timestamp", "trading_day", "balance",
                                                          "curr_margin", "exchange_margin", "frozen_margin"],
                               (snapshot(i) for i in range(n_snapshots))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--snapshots", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="brokerbot-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        files = generate(folder, args.clients, args.snapshots)
        print(f"generated files in {time.perf_counter() - started:.1f} s")
        url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
        bot = App(Settings(database_url=url, secret_key=generate_key(), data_dir=folder)).ready()
        total = 0.0
        try:
            for label in ("first import", "same files again"):
                for kind, path in files.items():
                    started = time.perf_counter()
                    failures = import_files(bot, kind, [path], out=lambda line: print("  " + line))
                    seconds = time.perf_counter() - started
                    total += seconds
                    rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
                    print(f"{label:>16} {kind:>9}: {rows:>7} rows in {seconds:6.1f} s = "
                          f"{rows / seconds:>8,.0f} rows/s{'  FAILED ' + str(failures) if failures else ''}")
        finally:
            bot.close()
        print(f"total import time {total:.1f} s on {bot.db.engine.dialect.name}")


if __name__ == "__main__":
    main()
