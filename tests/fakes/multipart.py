"""multipart/form-data as the fake platforms read an upload (RFC 7578), with the standard library's
MIME parser: each part's field name, file name, content type and bytes."""
from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.parser import BytesParser


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytes


def parse(content_type: str, raw: bytes) -> list[Part] | None:
    """The parts of a multipart/form-data body, or None when it is not one (no boundary, not multipart)."""
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        return None
    message = BytesParser(policy=policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + raw)
    if not message.is_multipart():
        return None
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        parts.append(Part(name=str(name), filename=part.get_filename(), content_type=part.get_content_type(),
                          data=part.get_payload(decode=True) or b""))
    return parts


def field(parts: list[Part] | None, name: str) -> Part | None:
    return next((p for p in parts or [] if p.name == name), None)


def image_format(data: bytes) -> str | None:
    """"png", "jpg", "gif", "bmp" by the file's magic bytes, as a server checks them."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data.startswith(b"BM"):
        return "bmp"
    return None
