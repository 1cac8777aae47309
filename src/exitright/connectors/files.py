"""The files connector: deletes a subject's uploads under the store's root, searches file names.

A pattern is relative to the root (validated: no absolute paths, no ``..``); identifier values
are glob-escaped and may not contain a separator; every match is resolved (symlinks included)
and skipped unless it is still inside the root.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from exitright.connectors.base import Hit, SubjectIds
from exitright.connectors.patterns import UnsafeValueError, fill, path_escape
from exitright.datamap.model import FilesStore


class FilesConnector:
    """One files store of the map."""

    def __init__(self, name: str, store: FilesStore) -> None:
        self.name = name
        self.store = store
        self.root = Path(store.root).resolve()

    def _matches(self, index: int, ids: SubjectIds) -> list[Path]:
        try:
            filled = fill(self.store.paths[index].pattern, ids.placeholder_values(), path_escape)
        except UnsafeValueError:
            return []
        if filled is None or not self.root.is_dir():
            return []
        out: list[Path] = []
        for path in self.root.glob(filled):
            real = path.resolve()
            if real != self.root and real.is_relative_to(self.root):
                out.append(path)
        return sorted(out)

    def count(self, index: int, ids: SubjectIds) -> int:
        """How many files or directories the pattern matches for this subject."""
        return len(self._matches(index, ids))

    def erase(self, index: int, ids: SubjectIds) -> int:
        """Delete the matches (directories with their contents), then empty parents named after
        the subject; idempotent."""
        matches = self._matches(index, ids)
        for path in matches:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        names = set(ids.placeholder_values().values())
        for path in matches:
            parent = path.parent
            while parent != self.root and parent.is_relative_to(self.root):
                if parent.name in names and parent.is_dir() and not any(parent.iterdir()):
                    parent.rmdir()
                parent = parent.parent
        return len(matches)

    def residual(self, ids: SubjectIds) -> list[Hit]:
        """Paths under the root whose name holds one of the subject's identifiers."""
        if not self.root.is_dir():
            return []
        needles = ids.needles()
        uid = str(ids.user_id) if ids.user_id is not None else None
        hits: list[Hit] = []
        for path in sorted(_walk(self.root)):
            rel = path.relative_to(self.root).as_posix()
            name = path.name.lower()
            if any(n in name for n in needles) or path.stem == uid:
                hits.append(Hit(self.name, "(files)", "path", rel))
        return hits

    def close(self) -> None:
        """Nothing to release."""


def _walk(root: Path) -> Iterator[Path]:
    """Every file and directory under ``root`` (symlinks listed, not followed).

    Not ``Path.rglob``: other workers erase other subjects' folders while this one looks, and
    rglob raises ``FileNotFoundError`` for a directory that vanished between being listed and
    being read (the soak found it); ``os.walk`` skips such a directory, which is gone anyway.
    """
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            yield Path(folder, name)
