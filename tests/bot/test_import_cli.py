"""`brokerbot import` as a person runs it: the real command in a subprocess."""
from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parents[1] / "data"


def test_import_prints_summaries_bad_rows_and_fails_only_without_skip_invalid(cli, tmp_path):
    result = cli("import", "staff", str(DATA / "staff.csv"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "staff.csv: 4 rows — 4 created, 0 updated, 0 unchanged, 0 skipped\n"

    bad = tmp_path / "more.csv"
    bad.write_text("name,account_no,phone,manager,colour\n"
                   "赵六,90003001,13700001111,wangfang,red\n"
                   "钱七,90003002,12345,wangfang,blue\n", encoding="utf-8")
    result = cli("import", "clients", str(DATA / "clients.csv"), str(bad), str(tmp_path / "missing.csv"))
    assert result.returncode == 1
    assert result.stdout == "clients.csv: 4 rows — 4 created, 0 updated, 0 unchanged, 0 skipped\n"
    assert result.stderr.splitlines() == [
        f"{bad}: warning: unknown column(s) ignored: colour",
        f"{bad}:3: phone: 12345 is not a mobile number (11 digits starting with 1) or a landline number",
        "more.csv: 1 bad row(s) of 2; nothing imported (fix them, or pass --skip-invalid to import the good rows)",
        f"{tmp_path / 'missing.csv'}: no such file",
        "brokerbot: not imported: more.csv (1 bad rows), missing.csv (refused)",
    ]

    result = cli("import", "clients", str(bad), str(DATA / "clients.csv"), "--skip-invalid")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "more.csv: 2 rows — 1 created, 0 updated, 0 unchanged, 1 skipped",
        "clients.csv: 4 rows — 0 created, 0 updated, 4 unchanged, 0 skipped",
    ]
    assert f"{bad}:3: phone: 12345 is not" in result.stderr
