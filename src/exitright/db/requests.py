"""Requests and API keys in the engine database: tables, the SQL repository, the unit of work.

A request row holds the aggregate as JSON (``Request.to_dict()``) plus the columns that are
queried: state, due instant ("overdue first"), when the worker should look next, its lease,
and ``version`` for optimistic locking (``UPDATE … WHERE version = :loaded``). The subject's
identifiers (and a correction's new values) are stored only while the request is open, encrypted
with AES-GCM under a key derived (HKDF) from the deployment secret and bound to the request id;
a terminal state writes NULL over them.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    case,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from exitright.cancellation.model import Request
from exitright.cancellation.ports import (
    ConcurrentUpdateError,
    DuplicateIdempotencyKeyError,
    Identifiers,
    Page,
    RequestRecord,
)
from exitright.clock import Clock
from exitright.db.base import Base
from exitright.errors import ErrorCode, ExitRightError
from exitright.ledger import certificates, service, signing

__all__ = [
    "ApiKeyRow",
    "IdentifierCipher",
    "RequestRow",
    "SqlRequestRepository",
    "SqlUnitOfWork",
    "claim_due",
    "release",
]


class RequestRow(Base):
    """One request of a subject: the aggregate as JSON, and the columns that are queried."""

    __tablename__ = "requests"
    __table_args__ = (
        UniqueConstraint("owner", "idempotency_key", name="uq_requests_owner_idempotency_key"),
        Index("ix_requests_owner_created", "owner", "created_at", "id"),
        Index("ix_requests_created", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    regime: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(64), index=True)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    identifiers_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    values_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # a correction's new values
    plan_id: Mapped[str | None] = mapped_column(String(36))
    certificate: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKeyRow(Base):
    """A platform back end's API key: only the SHA-256 of the token is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


REQUESTS = cast(Table, RequestRow.__table__)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes for DateTime(timezone=True); every value stored is UTC.
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class IdentifierCipher:
    """AES-GCM over a request's identifiers, bound to its id (a row copied elsewhere won't open)."""

    INFO = b"exitright request identifiers v1"
    VALUES = b"|values"  # associated data: sealed values never open as identifiers, or back

    def __init__(self, secret: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=self.INFO).derive(secret)
        self._aead = AESGCM(key)

    def seal(self, request_id: str, identifiers: Identifiers) -> bytes:
        """Nonce ‖ ciphertext of the identifiers."""
        nonce = os.urandom(12)
        plain = json.dumps(identifiers.to_dict(), sort_keys=True).encode()
        return nonce + self._aead.encrypt(nonce, plain, request_id.encode())

    def open(self, request_id: str, blob: bytes) -> Identifiers:
        """The identifiers sealed for ``request_id``."""
        return Identifiers.from_dict(json.loads(self._open(request_id, blob)))

    def _open(self, request_id: str, blob: bytes, purpose: bytes = b"") -> bytes:
        try:
            return self._aead.decrypt(blob[:12], blob[12:], request_id.encode() + purpose)
        except InvalidTag as exc:
            raise ExitRightError(
                ErrorCode.INVALID_CONFIG, message_id="api.error.identifiers_unreadable"
            ) from exc

    def seal_values(self, request_id: str, values: Mapping[str, str]) -> bytes:
        """Nonce ‖ ciphertext of a correction's new values (bound to the request and purpose)."""
        nonce = os.urandom(12)
        plain = json.dumps(dict(values), sort_keys=True).encode()
        return nonce + self._aead.encrypt(nonce, plain, request_id.encode() + self.VALUES)

    def open_values(self, request_id: str, blob: bytes) -> dict[str, str]:
        """The new values sealed for ``request_id``."""
        data = json.loads(self._open(request_id, blob, self.VALUES))
        return {str(k): str(v) for k, v in data.items()}


def _encode_cursor(created: datetime, request_id: str) -> str:
    raw = f"{created.astimezone(UTC).isoformat()}|{request_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, _, request_id = raw.partition("|")
        at = datetime.fromisoformat(created)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ExitRightError(
            ErrorCode.INVALID_REQUEST,
            details={"field": "cursor"},
            message_id="api.error.bad_cursor",
        ) from exc
    if not request_id or at.tzinfo is None:
        raise ExitRightError(
            ErrorCode.INVALID_REQUEST,
            details={"field": "cursor"},
            message_id="api.error.bad_cursor",
        )
    return at, request_id


class SqlRequestRepository:
    """The request repository on one open connection (the unit of work's transaction)."""

    def __init__(self, conn: Connection, cipher: IdentifierCipher, clock: Clock) -> None:
        self.conn = conn
        self.cipher = cipher
        self.clock = clock

    def _record(self, row: Any, *, decrypt: bool = True) -> RequestRecord:
        sealed = row.identifiers_enc if decrypt else None
        identifiers = self.cipher.open(row.id, sealed) if sealed else None
        values_blob = row.values_enc if decrypt else None
        values = self.cipher.open_values(row.id, values_blob) if values_blob else None
        return RequestRecord(
            request=Request.from_dict(row.data),
            identifiers=identifiers,
            owner=row.owner,
            idempotency_key=row.idempotency_key,
            next_run_at=_aware(row.next_run_at),
            plan_id=row.plan_id,
            certificate=row.certificate,
            created_at=_aware(row.created_at),
            row_version=row.version,
            values=values,
        )

    def _values(self, record: RequestRecord) -> dict[str, Any]:
        request = record.request
        sealed = (
            self.cipher.seal(request.id, record.identifiers)
            if record.identifiers is not None
            else None
        )
        values = self.cipher.seal_values(request.id, record.values) if record.values else None
        return {
            "kind": request.kind.value,
            "state": request.state.value,
            "regime": request.regime.value,
            "subject": request.subject_ref,
            "due_at": request.deadline.final_due_at,
            "next_run_at": record.next_run_at,
            "identifiers_enc": sealed,
            "values_enc": values,
            "plan_id": record.plan_id,
            "certificate": record.certificate,
            "data": request.to_dict(),
            "updated_at": self.clock.now(),
        }

    def add(self, record: RequestRecord) -> None:
        """Insert a new record; a taken idempotency key raises DuplicateIdempotencyKeyError."""
        values = self._values(record)
        created = record.created_at or self.clock.now()
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(REQUESTS).values(
                        id=record.request.id,
                        owner=record.owner,
                        idempotency_key=record.idempotency_key,
                        version=1,
                        created_at=created,
                        **values,
                    )
                )
        except IntegrityError as exc:
            raise DuplicateIdempotencyKeyError("idempotency key taken") from exc
        record.row_version = 1
        record.created_at = created

    def get(self, request_id: str) -> RequestRecord | None:
        """The record, or None."""
        row = self.conn.execute(select(REQUESTS).where(REQUESTS.c.id == request_id)).first()
        return self._record(row) if row is not None else None

    def by_idempotency_key(self, owner: str, key: str) -> RequestRecord | None:
        """The record ``owner`` created under ``key``, or None."""
        row = self.conn.execute(
            select(REQUESTS).where(REQUESTS.c.owner == owner, REQUESTS.c.idempotency_key == key)
        ).first()
        return self._record(row) if row is not None else None

    def save(self, record: RequestRecord) -> None:
        """Write back if the row is still at the version loaded, else ConcurrentUpdateError."""
        result = self.conn.execute(
            update(REQUESTS)
            .where(REQUESTS.c.id == record.request.id, REQUESTS.c.version == record.row_version)
            .values(version=record.row_version + 1, **self._values(record))
        )
        if result.rowcount != 1:
            raise ConcurrentUpdateError(
                "the request changed meanwhile", request_id=record.request.id
            )
        record.row_version += 1

    def list(self, *, owner: str | None, cursor: str | None, limit: int) -> Page:
        """Records newest first (keyset pagination on created_at, id)."""
        query = select(REQUESTS)
        if owner is not None:
            query = query.where(REQUESTS.c.owner == owner)
        if cursor:
            at, request_id = _decode_cursor(cursor)
            query = query.where(
                or_(
                    REQUESTS.c.created_at < at,
                    and_(REQUESTS.c.created_at == at, REQUESTS.c.id < request_id),
                )
            )
        rows = self.conn.execute(
            query.order_by(REQUESTS.c.created_at.desc(), REQUESTS.c.id.desc()).limit(limit + 1)
        ).all()
        # A listing is for display: identifiers stay sealed (these records are never saved).
        records = [self._record(r, decrypt=False) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit and records:
            last = records[-1]
            next_cursor = _encode_cursor(last.created_at or self.clock.now(), last.request.id)
        return Page(records, next_cursor)


class SqlLedger:
    """The ledger port on the unit of work's connection."""

    def __init__(self, conn: Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock

    def append(self, event: str, *, request_id: str, subject: str, data: Mapping[str, Any]) -> str:
        """Append inside the transaction; returns the entry's hash."""
        entry = service.append(
            self.conn, self.clock, event, request_id=request_id, subject=subject, data=data
        )
        return entry.hash


class SqlSigner:
    """Signs certificates with the deployment's current key (created on first use)."""

    def __init__(self, conn: Connection, clock: Clock, wrap: bytes) -> None:
        self.conn = conn
        self.clock = clock
        self.wrap = wrap

    def sign(self, claims: Mapping[str, Any]) -> str:
        """A compact JWS over ``claims``."""
        return certificates.issue(claims, signing.current(self.conn, self.clock, self.wrap))


class SqlUnitOfWork:
    """One engine-database transaction; enter it once per use (it may be entered again later).

    ``readonly`` opens a deferred transaction on SQLite, so reads never queue for the write lock.
    """

    requests: SqlRequestRepository
    ledger: SqlLedger
    signer: SqlSigner

    def __init__(
        self,
        engine: Engine,
        cipher: IdentifierCipher,
        clock: Clock,
        wrap: bytes,
        *,
        readonly: bool = False,
    ) -> None:
        self.engine = engine
        self.cipher = cipher
        self.clock = clock
        self.wrap = wrap
        self.readonly = readonly
        self._conn: Connection | None = None

    def __enter__(self) -> SqlUnitOfWork:
        conn = self.engine.connect()
        if self.readonly:
            conn = conn.execution_options(sqlite_begin="DEFERRED")
        conn.begin()
        self._conn = conn
        self.requests = SqlRequestRepository(conn, self.cipher, self.clock)
        self.ledger = SqlLedger(conn, self.clock)
        self.signer = SqlSigner(conn, self.clock, self.wrap)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                conn.rollback()
        finally:
            conn.close()

    def commit(self) -> None:
        """Commit the transaction."""
        if self._conn is None:
            raise RuntimeError("commit outside the unit of work")
        self._conn.commit()


# The worker's queue ---------------------------------------------------------------------------


_EXECUTING_FIRST = case((REQUESTS.c.state == "executing", 0), else_=1)


def claim_due(
    engine: Engine, clock: Clock, worker: str, *, lease: timedelta, limit: int = 10
) -> list[str]:
    """Lease up to ``limit`` requests that are due and not leased; overdue ones first.

    PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED``, so workers on any number of machines never
    wait for or take each other's rows. SQLite: the transaction holds the database's write lock
    (``BEGIN IMMEDIATE``), and the conditional UPDATE re-checks the lease anyway.
    """
    now = clock.now()
    free = or_(REQUESTS.c.lease_until.is_(None), REQUESTS.c.lease_until < now)
    query = (
        select(REQUESTS.c.id)
        .where(REQUESTS.c.next_run_at.is_not(None), REQUESTS.c.next_run_at <= now, free)
        # Among requests due the same day, an executing one first: it is a half-erased account
        # whose worker died (the soak found them waiting behind the whole backlog).
        .order_by(REQUESTS.c.due_at, _EXECUTING_FIRST, REQUESTS.c.next_run_at)
        .limit(limit)
    )
    # Look before taking the write lock: an idle worker polling SQLite must not queue writers.
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        if conn.execute(query.limit(1)).first() is None:
            return []
    if engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed: list[str] = []
    with engine.begin() as conn:
        for request_id in conn.execute(query).scalars().all():
            result = conn.execute(
                update(REQUESTS)
                .where(REQUESTS.c.id == request_id, free)
                .values(lease_owner=worker, lease_until=now + lease)
            )
            if result.rowcount == 1:
                claimed.append(request_id)
    return claimed


def release(engine: Engine, request_id: str, worker: str) -> None:
    """Give a lease back (only ours)."""
    with engine.begin() as conn:
        conn.execute(
            update(REQUESTS)
            .where(REQUESTS.c.id == request_id, REQUESTS.c.lease_owner == worker)
            .values(lease_owner=None, lease_until=None)
        )
