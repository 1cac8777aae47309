"""A reference receiver a merchant or courier runs to accept our events and delete its copy.

As a library::

    receiver = ReferenceReceiver(
        issuer="https://shop.example",
        audience="https://courier.example/events",
        keys=JwksCache("https://shop.example/.well-known/jwks.json"),
        on_delete=lambda event: delete_customer(event.sub_id),   # must be idempotent
        store=JtiStore("seen.db"),
    )
    status, body = receiver.accept(token)     # 202, None  — or 400, {"err", "description"}

As an app: ``create_app(receiver)`` serves ``POST /events`` (RFC 8935). From the command line:
``exitright events reference-receiver --jwks-url … --audience … --port … --exec "…"``.

Each SET is verified (signature against the transmitter's JWKS, issuer, audience, SET claims),
deduplicated by jti in a small SQLite file that survives restarts, and only then handed to the
callback; a callback that raises makes the answer 503, so the transmitter retries later and the
jti is not remembered until the deletion has actually happened.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from exitright.protocols import set as sets
from exitright.protocols.jwks import KeySource

__all__ = ["JtiStore", "ReferenceReceiver", "create_app", "exec_callback", "journal_callback"]

Callback = Callable[[sets.SecurityEvent], None]


class JtiStore:
    """The jtis already acted on, in a SQLite file (``:memory:`` for a throwaway receiver)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS seen_sets ("
                " jti TEXT PRIMARY KEY, event TEXT NOT NULL, at REAL NOT NULL)"
            )

    def seen(self, jti: str) -> bool:
        """Whether ``jti`` was acted on already."""
        with self._lock:
            row = self._db.execute("SELECT 1 FROM seen_sets WHERE jti = ?", (jti,)).fetchone()
        return row is not None

    def remember(self, jti: str, event: str) -> None:
        """Note that ``jti`` was acted on."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO seen_sets (jti, event, at) VALUES (?, ?, ?)",
                (jti, event, time.time()),
            )

    def count(self) -> int:
        """How many SETs were acted on."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM seen_sets").fetchone()[0])

    def close(self) -> None:
        """Close the file."""
        self._db.close()


@dataclass
class ReferenceReceiver:
    """Verify, deduplicate and act on the SETs of one transmitter."""

    issuer: str
    audience: str | Sequence[str]
    keys: KeySource
    on_delete: Callback
    store: JtiStore
    on_disable: Callback | None = None
    on_enable: Callback | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def _callback(self, event: sets.SecurityEvent) -> Callback | None:
        return {
            "account-purged": self.on_delete,
            "account-disabled": self.on_disable,
            "account-enabled": self.on_enable,
        }.get(event.name)

    def accept(self, token: str) -> tuple[int, dict[str, str] | None]:
        """The RFC 8935 answer to one pushed SET: (202, None), (400, err body) or (503, …)."""
        try:
            header, _ = sets.peek(token)
            kid = header.get("kid") if isinstance(header.get("kid"), str) else None
            try:
                keys = self.keys.keys(kid)
            except Exception:  # the transmitter's JWKS is unreachable: try again later
                return 503, {
                    "err": "temporarily_unavailable",
                    "description": "the transmitter's keys could not be fetched",
                }
            event = sets.verify(token, keys, issuer=self.issuer, audience=self.audience)
        except sets.SetError as exc:
            return 400, exc.body()
        # One SET at a time: a second copy of a jti waits for the first and is then a duplicate.
        with self._lock:
            if self.store.seen(event.jti):
                return 202, None
            callback = self._callback(event)
            if callback is not None:
                try:
                    callback(event)
                except Exception:  # the deletion did not happen: not remembered, retried later
                    return 503, {
                        "err": "temporarily_unavailable",
                        "description": "the deletion could not be carried out yet",
                    }
            self.store.remember(event.jti, event.name)
        return 202, None


def create_app(receiver: ReferenceReceiver, path: str = "/events") -> FastAPI:
    """A FastAPI app serving ``POST {path}`` (RFC 8935 push) and ``GET /healthz``."""
    app = FastAPI(title="ExitRight reference SET receiver", docs_url=None, redoc_url=None)
    app.state.receiver = receiver

    @app.post(path, status_code=202)
    async def events(request: Request) -> Response:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != sets.MEDIA_TYPE:
            err = sets.SetError("invalid_request", f"Content-Type must be {sets.MEDIA_TYPE}")
            return JSONResponse(err.body(), status_code=400)
        body = await request.body()
        try:
            token = body.decode("ascii")
        except UnicodeDecodeError:
            return JSONResponse(
                sets.SetError("invalid_request", "the body is not a compact JWS").body(), 400
            )
        status, payload = await run_in_threadpool(receiver.accept, token)
        if payload is None:
            return Response(status_code=status)
        return JSONResponse(payload, status_code=status)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "accepted": receiver.store.count()}

    return app


def _event_json(event: sets.SecurityEvent) -> str:
    return json.dumps(
        {
            "jti": event.jti,
            "event": event.name,
            "sub_id": event.sub_id,
            "txn": event.txn,
            "iat": event.iat,
        },
        ensure_ascii=False,
    )


def exec_callback(argv: Sequence[str], timeout: float = 60.0) -> Callback:
    """A callback running ``argv`` with the event as JSON on stdin; exit ≠ 0 means "not yet"."""

    def run(event: sets.SecurityEvent) -> None:
        subprocess.run(  # noqa: S603  # argv is the operator's own command, never shell-parsed
            list(argv), input=_event_json(event), text=True, check=True, timeout=timeout
        )

    return run


def journal_callback(path: str | Path) -> Callback:
    """A callback appending each event as one JSON line to ``path`` (the operator's own file)."""
    target = Path(path)

    def run(event: sets.SecurityEvent) -> None:
        with target.open("a", encoding="utf-8") as fh:
            fh.write(_event_json(event) + "\n")

    return run
