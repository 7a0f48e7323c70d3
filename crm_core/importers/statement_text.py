"""The layout of a broker's statement text, as the trading system's settlement query prints it:
section headings, `label：value` pairs whose labels carry inner spaces (`风 险 度 Risk Degree：`)
and sometimes a doubled colon (`客户权益 Client Equity：：`), and `|`-framed tables closed by a
`共 N条` total row. Everything wrong is an ImportFileError naming the line."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from crm_core.importers.fields import BadCell, as_decimal
from crm_core.importers.reader import ImportFileError
from crm_core.importers.texts import say

PAIR = re.compile(r"([^\s：:][^：:]*?)\s*[：:]+[ \t]*([^\s：:]*)")
CJK = re.compile(r"[\u3400-\u9fff/]+")
DASHES = re.compile(r"\s*-{3,}\s*")
TOTAL = re.compile(r"共(\d+)条")


def decode(data: bytes) -> str:
    """The whole file at once (a chunk boundary can split a GBK character): UTF-8 when it is
    valid, else GB18030 (a superset of GBK). A character cut off at the very end is dropped, so
    that a truncated file is refused for what is missing rather than as unreadable."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.end == len(data) and exc.reason == "unexpected end of data":
            return data[:exc.start].decode("utf-8-sig")
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        if exc.end == len(data) and exc.reason == "incomplete multibyte sequence":
            return data[:exc.start].decode("gb18030")
        raise ImportFileError(say("st_not_text", line=data[:exc.start].count(b"\n") + 1)) from None


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def words(label: str) -> str:
    """A label's Chinese words without spaces: `风 险 度 Risk Degree` -> 风险度."""
    match = CJK.match(compact(label))
    return match.group() if match else compact(label)


def heading(lines: list[str], title: str) -> int | None:
    """The index of the first line, outside a table, that holds `title` (spaces ignored)."""
    for number, line in enumerate(lines):
        if not line.lstrip().startswith("|") and title in compact(line):
            return number
    return None


def pairs(lines: list[str], start: int, stop: int) -> dict[str, tuple[str, int]]:
    """`label：value` pairs by the label's Chinese words, with their line numbers; the first wins."""
    found: dict[str, tuple[str, int]] = {}
    for number in range(start, stop):
        for label, value in PAIR.findall(lines[number]):
            if value:
                found.setdefault(words(label), (value, number + 1))
    return found


def block_end(lines: list[str], start: int) -> int:
    """Where a block of pairs starting at index `start` ends: at the first blank line after its
    content, a table row, or the file's end."""
    stop = start
    while stop < len(lines) and not lines[stop].strip():
        stop += 1
    while stop < len(lines) and (DASHES.fullmatch(lines[stop]) or (
            lines[stop].strip() and not lines[stop].lstrip().startswith("|"))):
        stop += 1
    return stop


def money(text: str, line: int, label: str, places: int = 2) -> Decimal:
    try:
        return as_decimal(text, places)
    except BadCell as exc:
        raise ImportFileError(f"line {line}: " + say(exc.args[0], column=label, value=text, places=places)) \
            from None


@dataclass
class Table:
    title: str
    line: int  # the heading's
    columns: list[str]  # header names without spaces
    rows: list[tuple[int, list[str]]]  # (line, cells)
    total: tuple[int, list[str]]

    def index(self, names: tuple[str, ...], required: bool = True) -> int | None:
        for name in names:
            if name in self.columns:
                return self.columns.index(name)
        if required:
            raise ImportFileError(say("st_no_column", section=self.title, line=self.line, column=names[0]))
        return None

    def column_sum(self, names: tuple[str, ...], places: int = 2) -> Decimal:
        """The column's rows added up, checked against the total row when it shows a figure."""
        at = self.index(names)
        added = sum((money(cells[at] or "0", line, names[0], places) for line, cells in self.rows), Decimal(0))
        line, cells = self.total
        if cells[at]:
            shown = money(cells[at], line, names[0], places)
            if shown != added:
                raise ImportFileError(say("st_total", line=line, section=self.title, column=names[0],
                                          shown=shown, computed=added))
        return added


def table(lines: list[str], at: int, title: str) -> Table:
    """The table under the heading at index `at`: header rows, then data rows, then the `共 N条`
    total row, with dashed lines between them; it ends at a blank line, a line that is not part
    of it, or the file's end. A row cut short or a missing total row refuses the file."""
    blocks: list[list[tuple[int, list[str]]]] = [[]]
    for number in range(at + 1, len(lines)):
        line = lines[number].strip()
        if DASHES.fullmatch(line):
            if blocks[-1]:
                blocks.append([])
            continue
        if not line.startswith("|"):
            if line or blocks[0]:
                break
            continue
        if len(line) == 1 or not line.endswith("|"):
            raise ImportFileError(say("st_cut_row", line=number + 1, section=title))
        blocks[-1].append((number + 1, [cell.strip() for cell in line[1:-1].split("|")]))
    if not blocks[0]:
        raise ImportFileError(say("st_no_total", section=title, line=at + 1))
    columns = [compact(cell) for cell in blocks[0][0][1]]
    rows, total = [], None
    for line, cells in (row for block in blocks[1:] for row in block):
        if len(cells) != len(columns):
            raise ImportFileError(say("st_cells", line=line, section=title, count=len(cells),
                                      columns=len(columns)))
        if TOTAL.fullmatch(compact(cells[0])):
            total = (line, cells)
            break
        rows.append((line, cells))
    if total is None:
        raise ImportFileError(say("st_no_total", section=title, line=at + 1))
    count = int(TOTAL.fullmatch(compact(total[1][0])).group(1))
    if count != len(rows):
        raise ImportFileError(say("st_count", line=total[0], section=title, shown=count, count=len(rows)))
    return Table(title, at + 1, columns, rows, total)
