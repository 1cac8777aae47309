"""API keys for platform back ends: ``Authorization: Bearer er_…``, scoped, hashed at rest.

A token is ``er_`` + 43 URL-safe characters (32 random bytes); the database keeps only its
SHA-256 (a random 256-bit token needs no slow hash or key), its first characters for display,
its scopes and when it was last used. Rotating a key keeps its id — so the requests it created
stay its own — and replaces the token at once. Scopes:

``requests:write``   submit and revoke requests
``requests:read``    read its own requests and their certificates
``requests:verify``  mark a request verified: the platform signed the user in itself
``admin``            everything, on every key's requests, and reject (acts as an operator)
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine, Table, insert, select, update

from exitright.clock import Clock, SystemClock
from exitright.db.requests import ApiKeyRow
from exitright.errors import ErrorCode, ExitRightError

__all__ = [
    "SCOPES",
    "ApiKey",
    "Caller",
    "authenticate",
    "create_key",
    "list_keys",
    "require",
    "revoke_key",
    "rotate_key",
]

SCOPES: Final = ("requests:write", "requests:read", "requests:verify", "admin")
TOKEN_PREFIX: Final = "er_"  # noqa: S105  # the public prefix of every token, not a secret
# Writing last_used_at on every call would make each read a write; a minute is precise enough.
LAST_USED_RESOLUTION: Final = timedelta(minutes=1)
_TABLE = cast(Table, ApiKeyRow.__table__)
_bearer = HTTPBearer(auto_error=False, description="an API key: `er_…`")


@dataclass(frozen=True)
class ApiKey:
    """An API key as operators see it (never the token)."""

    id: str
    name: str
    scopes: tuple[str, ...]
    prefix: str
    created_at: datetime
    rotated_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class Caller:
    """The authenticated key behind an API call."""

    key_id: str
    scopes: frozenset[str]

    @property
    def is_admin(self) -> bool:
        """Whether the key may act on every key's requests."""
        return "admin" in self.scopes

    def allows(self, scope: str) -> bool:
        """Whether the key holds ``scope`` (admin holds every scope)."""
        return self.is_admin or scope in self.scopes

    @property
    def owner_filter(self) -> str | None:
        """The owner to restrict requests to (None for admin: every request)."""
        return None if self.is_admin else self.key_id


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        scopes=tuple(row.scopes),
        prefix=row.prefix,
        created_at=_aware(row.created_at) or datetime.min.replace(tzinfo=UTC),
        rotated_at=_aware(row.rotated_at),
        last_used_at=_aware(row.last_used_at),
        revoked_at=_aware(row.revoked_at),
    )


def _check_scopes(scopes: list[str]) -> tuple[str, ...]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ExitRightError(
            ErrorCode.INVALID_REQUEST,
            details={"unknown": unknown, "allowed": list(SCOPES)},
            message_id="api.error.bad_scopes",
            params={"allowed": ", ".join(SCOPES)},
        )
    return tuple(s for s in SCOPES if s in scopes)


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_key(engine: Engine, clock: Clock, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """Create a key; returns it and its token (shown once, never stored)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ExitRightError(
            ErrorCode.INVALID_REQUEST, details={"field": "name"}, message_id="api.error.bad_name"
        )
    ordered = _check_scopes(scopes)
    token = _new_token()
    # Base32 (no 0, 1, 8, 9): the id is written into the ledger, whose personal-data check would
    # refuse a hex id that happens to hold a run of digits shaped like a mobile number.
    key_id = "key_" + base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()
    with engine.begin() as conn:
        conn.execute(
            insert(_TABLE).values(
                id=key_id,
                name=name,
                scopes=list(ordered),
                token_hash=_hash(token),
                prefix=token[:8],
                created_at=clock.now(),
            )
        )
        row = conn.execute(select(_TABLE).where(_TABLE.c.id == key_id)).one()
    return _key(row), token


def list_keys(engine: Engine) -> list[ApiKey]:
    """Every key, newest first, revoked ones included."""
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        rows = conn.execute(select(_TABLE).order_by(_TABLE.c.created_at.desc())).all()
    return [_key(r) for r in rows]


def _not_found(key_id: str) -> ExitRightError:
    return ExitRightError(
        ErrorCode.NOT_FOUND,
        details={"key": key_id},
        message_id="api.error.key_not_found",
        params={"key_id": key_id},
    )


def revoke_key(engine: Engine, clock: Clock, key_id: str) -> ApiKey:
    """Revoke a key for good (its requests stay; admin keys still see them)."""
    with engine.begin() as conn:
        conn.execute(
            update(_TABLE)
            .where(_TABLE.c.id == key_id, _TABLE.c.revoked_at.is_(None))
            .values(revoked_at=clock.now())
        )
        row = conn.execute(select(_TABLE).where(_TABLE.c.id == key_id)).first()
    if row is None:
        raise _not_found(key_id)
    return _key(row)


def rotate_key(engine: Engine, clock: Clock, key_id: str) -> tuple[ApiKey, str]:
    """Give a live key a new token (the old one stops working now); returns the new token."""
    token = _new_token()
    with engine.begin() as conn:
        result = conn.execute(
            update(_TABLE)
            .where(_TABLE.c.id == key_id, _TABLE.c.revoked_at.is_(None))
            .values(token_hash=_hash(token), prefix=token[:8], rotated_at=clock.now())
        )
        row = conn.execute(select(_TABLE).where(_TABLE.c.id == key_id)).first()
    if row is None or result.rowcount != 1:
        raise _not_found(key_id)
    return _key(row), token


def _unauthenticated() -> ExitRightError:
    return ExitRightError(ErrorCode.UNAUTHENTICATED, message_id="api.error.unauthenticated")


def authenticate(engine: Engine, clock: Clock, token: str) -> Caller:
    """The live key holding ``token``, or 401 (never saying why: unknown, revoked, malformed)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise _unauthenticated()
    digest = _hash(token)
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        row = conn.execute(
            select(_TABLE.c.id, _TABLE.c.scopes, _TABLE.c.last_used_at).where(
                _TABLE.c.token_hash == digest, _TABLE.c.revoked_at.is_(None)
            )
        ).first()
    if row is None:
        raise _unauthenticated()
    now = clock.now()
    last = _aware(row.last_used_at)
    if last is None or now - last >= LAST_USED_RESOLUTION:
        with engine.begin() as conn:
            conn.execute(update(_TABLE).where(_TABLE.c.id == row.id).values(last_used_at=now))
    return Caller(row.id, frozenset(row.scopes))


def require(scope: str) -> Any:
    """A FastAPI dependency: the calling key, if it holds ``scope`` (401 / 403 otherwise)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> Caller:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise _unauthenticated()
        clock: Clock = getattr(request.app.state, "clock", None) or SystemClock()
        caller = authenticate(request.app.state.engine, clock, credentials.credentials)
        if not caller.allows(scope):
            raise ExitRightError(
                ErrorCode.FORBIDDEN,
                details={"required_scope": scope},
                message_id="api.error.scope_missing",
                params={"scope": scope},
            )
        return caller

    return Depends(dependency)
