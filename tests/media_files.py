"""Small real files for the attachment tests: a PNG written by hand (zlib + struct) and an XLSX made
by openpyxl."""
from __future__ import annotations

import functools
import io
import struct
import zlib

from openpyxl import Workbook

from messaging.replies import Attachment

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid truecolour PNG of one colour."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@functools.cache  # openpyxl stamps the time of saving into the file: made once, compared byte for byte
def xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["账户", "客户权益", "风险度"])
    sheet.append(["90012345", 1425363.60, "52.72%"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def image_attachment(name: str = "风险度-20261118.png") -> Attachment:
    return Attachment(kind="image", filename=name, content=png(), mime="image/png")


def xlsx_attachment(name: str = "margin-20261118.xlsx") -> Attachment:
    return Attachment(kind="file", filename=name, content=xlsx(), mime=XLSX_MIME)
