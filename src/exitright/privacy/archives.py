"""Access exports at rest: one encrypted file per request under ``<data_dir>/exports``, expiring.

A file is a one-line JSON header (counts, creation, expiry — no personal data) and the zip sealed
with AES-GCM under a key derived (HKDF) from the deployment secret. The header and the request
id are the associated data, so a file renamed to another request, or an expiry moved later,
does not open. After the expiry (``export_expiry_days``, default 7) the file is not served and
the worker's next pass deletes it (:meth:`ExportArchives.purge_expired`).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from exitright.cancellation.ports import ExportFile
from exitright.clock import Clock, as_utc

__all__ = ["SUFFIX", "ExportArchives"]

SUFFIX: Final = ".zip.enc"
_REQUEST_ID: Final = re.compile(r"^req_[a-z2-7]{1,60}$")
# The worker calls purge_expired every round; the directory is listed at most this often.
PURGE_EVERY: Final = timedelta(minutes=1)


class ExportArchives:
    """The ``ExportStore`` port on a directory: write, read, expire and purge access exports."""

    INFO = b"exitright access export v1"

    def __init__(self, directory: Path, secret: bytes, clock: Clock, ttl: timedelta) -> None:
        self.directory = directory
        self.clock = clock
        self.ttl = ttl
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=self.INFO).derive(secret)
        self._aead = AESGCM(key)
        self._lock = threading.Lock()
        self._last_purge: datetime | None = None

    def path(self, request_id: str) -> Path:
        """The file of ``request_id`` (ids are checked: never a path outside the directory)."""
        if not _REQUEST_ID.match(request_id):
            raise ValueError("not a request id")
        return self.directory / f"{request_id}{SUFFIX}"

    def put(self, request_id: str, data: bytes, *, tables: int, rows: int) -> ExportFile:
        """Seal and store the zip of ``request_id``; it expires ``ttl`` from now."""
        now = as_utc(self.clock.now())
        expires = now + self.ttl
        header = json.dumps(
            {
                "v": 1,
                "tables": tables,
                "rows": rows,
                "created_at": now.isoformat(),
                "expires_at": expires.isoformat(),
            },
            sort_keys=True,
        ).encode()
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, data, request_id.encode() + b"\n" + header)
        target = self.path(request_id)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(header + b"\n" + nonce + sealed)
        tmp.replace(target)  # whole or not at all: a reader never sees half a file
        return ExportFile(data, tables, rows, expires)

    def header(self, request_id: str) -> dict[str, Any] | None:
        """The header of the request's file, or None when there is none."""
        try:
            with self.path(request_id).open("rb") as fh:
                line = fh.readline()
        except (FileNotFoundError, ValueError):
            return None
        try:
            data = json.loads(line)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _expired(self, header: dict[str, Any]) -> bool:
        try:
            expires = datetime.fromisoformat(str(header["expires_at"]))
        except (KeyError, ValueError):
            return True
        return as_utc(self.clock.now()) >= as_utc(expires)

    def ready(self, request_id: str) -> bool:
        """Whether an unexpired archive exists for the request (the file is not decrypted)."""
        header = self.header(request_id)
        return header is not None and not self._expired(header)

    def read(self, request_id: str) -> ExportFile | None:
        """The decrypted archive, or None (none, expired, or not openable with this key)."""
        try:
            raw = self.path(request_id).read_bytes()
        except (FileNotFoundError, ValueError):
            return None
        header, _, body = raw.partition(b"\n")
        try:
            meta = json.loads(header)
            data = self._aead.decrypt(body[:12], body[12:], request_id.encode() + b"\n" + header)
        except (ValueError, InvalidTag):
            return None
        if not isinstance(meta, dict) or self._expired(meta):
            return None
        expires = as_utc(datetime.fromisoformat(str(meta["expires_at"])))
        return ExportFile(data, int(meta.get("tables", 0)), int(meta.get("rows", 0)), expires)

    def purge_expired(self) -> int:
        """Delete every expired archive (at most one directory listing per minute)."""
        now = as_utc(self.clock.now())
        with self._lock:
            if self._last_purge is not None and now - self._last_purge < PURGE_EVERY:
                return 0
            self._last_purge = now
        if not self.directory.is_dir():
            return 0
        purged = 0
        for entry in self.directory.glob(f"req_*{SUFFIX}"):
            request_id = entry.name.removesuffix(SUFFIX)
            header = self.header(request_id)
            if header is None or self._expired(header):
                entry.unlink(missing_ok=True)
                purged += 1
        return purged
