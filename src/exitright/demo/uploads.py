"""Uploaded files of the demo platform: tiny real JPEGs at the paths the tables refer to.

Each file is an 8×8 grey baseline JPEG of a few hundred bytes, encoded here in a few lines so the
demo needs no imaging library: small enough that 100,000 users' avatars, ID-card photos and review
photos cost little disk, real enough that a browser shows them and a file-type check accepts them.
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Final

from exitright.demo.model import UPLOADS_PREFIX

__all__ = ["UPLOAD_KINDS", "clear_uploads", "placeholder_jpeg", "resolve", "write_uploads"]

# The folders under the uploads directory that the demo platform writes.
UPLOAD_KINDS: Final = ("avatars", "idcards", "reviews")
_SHADES: Final = {"avatars": 200, "idcards": 150, "reviews": 110}


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", 0xFF00 | marker, len(payload) + 2) + payload


@cache
def placeholder_jpeg(gray: int) -> bytes:
    """A valid 8×8 single-colour greyscale baseline JPEG of level ``gray`` (0–255)."""
    if not 0 <= gray <= 255:
        raise ValueError("gray must be within 0..255")
    # A uniform block has only a DC coefficient: 8 × (level − 128) with a quantizer of 1.
    dc = 8 * (gray - 128)
    size = abs(dc).bit_length()
    bits = dc if dc >= 0 else dc + (1 << size) - 1
    # One-symbol Huffman tables: the DC category and the AC end-of-block are each the code "0".
    stream = "0" + (format(bits, f"0{size}b") if size else "") + "0"
    stream += "1" * (-len(stream) % 8)
    data = bytearray()
    for i in range(0, len(stream), 8):
        byte = int(stream[i : i + 8], 2)
        data.append(byte)
        if byte == 0xFF:
            data.append(0)  # byte stuffing, as the format requires
    one_code = bytes([1] + [0] * 15)
    return b"".join(
        (
            b"\xff\xd8",
            _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            _segment(0xDB, b"\x00" + b"\x01" * 64),
            _segment(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00"),
            _segment(0xC4, b"\x00" + one_code + bytes([size])),
            _segment(0xC4, b"\x10" + one_code + b"\x00"),
            _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),
            bytes(data),
            b"\xff\xd9",
        )
    )


def resolve(uploads_dir: Path, stored_path: str) -> Path:
    """Where the file a table refers to (``uploads/<kind>/<user_id>/<name>``) lives on disk."""
    prefix, _, rest = stored_path.partition("/")
    if prefix != UPLOADS_PREFIX or not rest or ".." in Path(rest).parts:
        raise ValueError("not a stored upload path")
    return uploads_dir / rest


def write_uploads(uploads_dir: Path, stored_paths: Iterable[str]) -> int:
    """Write a placeholder image at each stored path under ``uploads_dir``; return how many."""
    made: set[Path] = set()
    count = 0
    for stored in stored_paths:
        target = resolve(uploads_dir, stored)
        folder = target.parent
        if folder not in made:
            folder.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        kind = stored.split("/", 2)[1]
        target.write_bytes(placeholder_jpeg(_SHADES.get(kind, 128)))
        count += 1
    return count


def clear_uploads(uploads_dir: Path) -> None:
    """Remove the folders the demo platform writes (and nothing else under ``uploads_dir``)."""
    for kind in UPLOAD_KINDS:
        shutil.rmtree(uploads_dir / kind, ignore_errors=True)
