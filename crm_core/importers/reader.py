"""Reads a CSV (UTF-8, with or without Excel's BOM) or XLSX file into header and rows, or
takes rows as JSON objects (the REST API).

Line numbers are those a person sees: the header is line 1; a CSV record that spans
several lines (a quoted line break) carries the number of its first line; an XLSX row
carries its row number on the first worksheet; an object its index in the JSON array.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from crm_core.importers.report import BadRow
from crm_core.importers.texts import say

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the pre-2007 .xls container


class ImportFileError(ValueError):
    """The file as a whole is refused; the message says why, in one line."""


@dataclass
class Row:
    line: int
    cells: dict[str, object]  # column -> str / int / float / datetime ... ; never "" (None instead)


@dataclass
class Table:
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)  # rows unreadable as such (too many values)


def column_key(name: object) -> str:
    """Header names compare case-insensitively, ignoring surrounding and inner spaces."""
    return re.sub(r"[\s\-]+", "_", str(name or "").strip()).lower()


def read_table(path: Path, expected: tuple[str, ...]) -> Table:
    if not path.is_file():
        raise ImportFileError(say("no_file"))
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == OLE_MAGIC or path.suffix.lower() == ".xls":
        raise ImportFileError(say("old_xls"))
    if path.suffix.lower() in (".xlsx", ".xlsm") and magic != ZIP_MAGIC:
        raise ImportFileError(say("bad_xlsx", error="it is not a zip container"))
    raw_rows = _xlsx_rows(path) if magic == ZIP_MAGIC else _csv_rows(path)
    return _table(raw_rows, expected)


def _csv_rows(path: Path):
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(say("not_utf8", line=data[:exc.start].count(b"\n") + 1)) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    try:
        for values in reader:
            yield start, values
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(say("bad_csv", line=reader.line_num, error=exc)) from None


def _xlsx_rows(path: Path):
    from openpyxl import load_workbook

    try:
        # data_only: a formula cell gives the value Excel last computed, not its formula.
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise ImportFileError(say("bad_xlsx", error=f"{type(exc).__name__}: {exc}")) from None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # some writers record a wrong sheet size; read every row
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(values)
    finally:
        book.close()


def _clean(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _table(raw_rows, expected: tuple[str, ...]) -> Table:
    header = None
    for line, values in raw_rows:
        values = [_clean(v) for v in values]
        if header is None:
            if not any(v is not None for v in values):
                continue  # blank lines before the header
            header = [column_key(v) for v in values]
            seen = set()
            for name in header:
                if name and name in seen:
                    raise ImportFileError(say("duplicate_column", column=name))
                seen.add(name)
            table = Table(columns=[name for name in header if name])
            continue
        if not any(v is not None for v in values):
            continue  # blank line, or a row Excel left formatted but empty
        extra = [v for v in values[len(header):] if v is not None]
        if extra:
            count = max(i for i, v in enumerate(values) if v is not None) + 1
            table.bad.append(BadRow(line, say("too_many_values", count=count, columns=len(header))))
            continue
        cells = {name: value for name, value in zip(header, values) if name}
        table.rows.append(Row(line, cells))
    if header is None:
        raise ImportFileError(say("empty_file", columns=",".join(expected)))
    return table


def object_table(items: list) -> Table:
    """Rows given as objects of column name -> value (str, int, Decimal, bool or None), as the
    REST API receives them; a row's `line` is its index. Names are taken as written (no case
    folding): a misspelt name is an unknown column, not a guess."""
    columns: dict[str, None] = {}
    table = Table(columns=[])
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            table.bad.append(BadRow(index, say("not_object")))
            continue
        columns.update(dict.fromkeys(item))
        nested = [say("not_scalar", column=key) for key, value in item.items() if isinstance(value, (dict, list))]
        if nested:
            table.bad.append(BadRow(index, "; ".join(nested)))
            continue
        table.rows.append(Row(index, {key: _clean(value) for key, value in item.items()}))
    table.columns = list(columns)
    return table
