"""The files residual check while other workers erase other folders (found by the soak)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from exitright.connectors.base import SubjectIds
from exitright.connectors.files import FilesConnector
from exitright.datamap.model import FilePath, FilesStore


def test_a_folder_erased_by_another_worker_mid_scan_does_not_fail_the_residual_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker removes ``idcards/34/`` between the scan listing it and reading it."""
    root = tmp_path / "uploads"
    for rel in ("idcards/34/front.jpg", "idcards/56/front.jpg", "avatars/12.png"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"jpg")
    store = FilesStore(
        kind="files", root=str(root), paths=[FilePath(pattern="avatars/{user_id}.*")]
    )
    conn = FilesConnector("uploads", store)
    victim = (root / "idcards" / "34").resolve()
    real_scandir = os.scandir

    def scandir_after_another_worker(path: int | str | os.PathLike[str] = ".") -> object:
        # (rmtree itself lists folders by file descriptor: those pass straight through)
        if not isinstance(path, int) and Path(path).resolve() == victim and victim.exists():
            shutil.rmtree(victim)  # the other worker's erasure, just before we read the folder
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir_after_another_worker)
    hits = conn.residual(SubjectIds(user_id=12))
    assert not victim.exists()
    assert [h.row_key for h in hits] == ["avatars/12.png"]  # still finds what is left
