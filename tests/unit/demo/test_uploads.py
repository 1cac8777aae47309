"""Uploaded files: real tiny JPEGs, and stored paths that cannot leave the uploads folder."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from exitright.demo.uploads import clear_uploads, placeholder_jpeg, resolve, write_uploads


def segments(jpeg: bytes) -> list[int]:
    """The marker bytes of a JPEG's segments up to the start of scan."""
    markers, pos = [], 2
    while jpeg[pos] == 0xFF and jpeg[pos + 1] != 0xDA:
        markers.append(jpeg[pos + 1])
        (length,) = struct.unpack(">H", jpeg[pos + 2 : pos + 4])
        pos += 2 + length
    return [*markers, jpeg[pos + 1]]


@pytest.mark.parametrize("gray", [0, 110, 128, 200, 255])
def test_placeholders_are_baseline_jpegs(gray: int) -> None:
    """SOI, JFIF, quantization, baseline frame, two Huffman tables, scan, EOI; under 200 bytes."""
    jpeg = placeholder_jpeg(gray)
    assert jpeg.startswith(b"\xff\xd8") and jpeg.endswith(b"\xff\xd9")
    assert segments(jpeg) == [0xE0, 0xDB, 0xC0, 0xC4, 0xC4, 0xDA]
    assert len(jpeg) < 200


def test_a_level_outside_a_byte_is_refused() -> None:
    """Grey levels are 0..255."""
    with pytest.raises(ValueError, match="gray"):
        placeholder_jpeg(256)


def test_stored_paths_resolve_under_the_uploads_folder_only(tmp_path: Path) -> None:
    """uploads/<kind>/<id>/<file> maps into the folder; anything else is refused."""
    assert resolve(tmp_path, "uploads/idcards/7/front.jpg") == tmp_path / "idcards/7/front.jpg"
    for bad in ("idcards/7/front.jpg", "uploads/../etc/passwd", "uploads/"):
        with pytest.raises(ValueError, match="upload path"):
            resolve(tmp_path, bad)


def test_files_are_written_and_cleared_without_touching_other_folders(tmp_path: Path) -> None:
    """Writing creates user folders; clearing removes only the demo's kinds of folder."""
    (tmp_path / "other").mkdir()
    paths = [
        "uploads/avatars/1/avatar.jpg",
        "uploads/reviews/1/3_1.jpg",
        "uploads/reviews/1/3_2.jpg",
    ]
    assert write_uploads(tmp_path, paths) == 3
    assert (tmp_path / "reviews/1/3_2.jpg").read_bytes() == placeholder_jpeg(110)
    clear_uploads(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]
