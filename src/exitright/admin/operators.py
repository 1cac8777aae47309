"""Operators: create, list, disable, and sign in with a rate limit and lock-out.

Sign-in failures are counted per keyed hash of the name and of the client address over a sliding
window. An unknown name is limited exactly like a known one, and answers take the same time, so
the sign-in form never tells whether a name exists.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

from sqlalchemy import Engine, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from exitright.admin.models import Operator, Role, SignInAttempt
from exitright.admin.passwords import DUMMY_HASH, hash_password, password_problem, verify_password
from exitright.clock import Clock
from exitright.errors import ErrorCode, ExitRightError

__all__ = [
    "ADDRESS_LIMIT",
    "NAME_LIMIT",
    "WINDOW",
    "OperatorView",
    "SignInGuard",
    "create_operator",
    "disable_operator",
    "get_operator",
    "list_operators",
    "names_by_id",
    "parse_role",
    "sign_out",
]

# Five wrong passwords lock a name for the window; an address may try more names before it is
# stopped (an office behind one NAT), but not enough to guess passwords at any useful rate.
WINDOW: Final = timedelta(minutes=15)
NAME_LIMIT: Final = 5
ADDRESS_LIMIT: Final = 20
_NAME_RE: Final = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")
_OPERATORS = cast(Table, Operator.__table__)
_ATTEMPTS = cast(Table, SignInAttempt.__table__)


@dataclass(frozen=True)
class OperatorView:
    """An operator as the console and the CLI show it (never the password hash)."""

    id: str
    name: str
    role: Role
    session_epoch: int
    created_at: datetime
    last_sign_in_at: datetime | None
    locked_until: datetime | None
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the operator may sign in."""
        return self.disabled_at is None


def _aware(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes for DateTime(timezone=True); every value stored is UTC.
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _view(row: Any) -> OperatorView:
    return OperatorView(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        session_epoch=int(row.session_epoch),
        created_at=_aware(row.created_at) or datetime.min.replace(tzinfo=UTC),
        last_sign_in_at=_aware(row.last_sign_in_at),
        locked_until=_aware(row.locked_until),
        disabled_at=_aware(row.disabled_at),
    )


def _invalid(field: str, message_id: str, **params: Any) -> ExitRightError:
    return ExitRightError(
        ErrorCode.INVALID_REQUEST, details={"field": field}, message_id=message_id, params=params
    )


def parse_role(value: str) -> Role:
    """The role named ``value``, or a clear error listing the roles."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise _invalid(
            "role", "admin.error.bad_role", roles=", ".join(r.value for r in Role)
        ) from None


def create_operator(
    engine: Engine, clock: Clock, name: str, role: Role, password: str
) -> OperatorView:
    """Add an operator; the name is unique, the password is checked and stored as a hash."""
    name = name.strip()
    if not _NAME_RE.fullmatch(name):
        raise _invalid("name", "admin.error.bad_name")
    problem = password_problem(password, name)
    if problem is not None:
        raise _invalid("password", problem)
    operator_id = "op_" + secrets.token_hex(8)
    hashed = hash_password(password)  # outside the transaction: it takes a while on purpose
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(_OPERATORS).values(
                    id=operator_id,
                    name=name,
                    role=role.value,
                    password_hash=hashed,
                    session_epoch=0,
                    created_at=clock.now(),
                )
            )
            row = conn.execute(select(_OPERATORS).where(_OPERATORS.c.id == operator_id)).one()
    except IntegrityError:  # the unique name: also when two admins add the same name at once
        raise ExitRightError(
            ErrorCode.CONFLICT, details={"field": "name"}, message_id="admin.error.name_taken"
        ) from None
    return _view(row)


def list_operators(engine: Engine) -> list[OperatorView]:
    """Every operator by name, disabled ones included."""
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        rows = conn.execute(select(_OPERATORS).order_by(_OPERATORS.c.name)).all()
    return [_view(r) for r in rows]


def get_operator(engine: Engine, operator_id: str) -> OperatorView | None:
    """The operator with this id, or None."""
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        row = conn.execute(select(_OPERATORS).where(_OPERATORS.c.id == operator_id)).first()
    return _view(row) if row is not None else None


def names_by_id(engine: Engine, ids: set[str]) -> dict[str, str]:
    """Operator names for the ids in a timeline (ids only are stored there)."""
    if not ids:
        return {}
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        rows = conn.execute(
            select(_OPERATORS.c.id, _OPERATORS.c.name).where(_OPERATORS.c.id.in_(sorted(ids)))
        ).all()
    return {r.id: r.name for r in rows}


def disable_operator(
    engine: Engine, clock: Clock, *, name: str | None = None, operator_id: str | None = None
) -> OperatorView:
    """Disable an operator for good (by name or id); their open sessions end at once."""
    where = (
        _OPERATORS.c.name == name.strip() if name is not None else _OPERATORS.c.id == operator_id
    )
    with engine.begin() as conn:
        conn.execute(
            update(_OPERATORS)
            .where(where, _OPERATORS.c.disabled_at.is_(None))
            .values(disabled_at=clock.now(), session_epoch=_OPERATORS.c.session_epoch + 1)
        )
        row = conn.execute(select(_OPERATORS).where(where)).first()
    if row is None:
        raise ExitRightError(
            ErrorCode.NOT_FOUND, details={"field": "name"}, message_id="admin.error.no_operator"
        )
    return _view(row)


def sign_out(engine: Engine, operator_id: str) -> None:
    """End every session of the operator (the cookie's epoch no longer matches)."""
    with engine.begin() as conn:
        conn.execute(
            update(_OPERATORS)
            .where(_OPERATORS.c.id == operator_id)
            .values(session_epoch=_OPERATORS.c.session_epoch + 1)
        )


class SignInGuard:
    """Checks a name and password under the per-name and per-address limits."""

    def __init__(self, engine: Engine, clock: Clock, secret: bytes) -> None:
        self.engine = engine
        self.clock = clock
        self._key = hmac.new(secret, b"exitright admin sign-in v1", hashlib.sha256).digest()

    def _hash(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def _limited(self, name_key: str, address_key: str, now: datetime) -> datetime | None:
        """When the caller may try again, if a limit is reached now."""
        since = now - WINDOW
        with self.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            for key, limit in ((name_key, NAME_LIMIT), (address_key, ADDRESS_LIMIT)):
                count, oldest = conn.execute(
                    select(func.count(), func.min(_ATTEMPTS.c.at)).where(
                        _ATTEMPTS.c.key_hash == key, _ATTEMPTS.c.at > since
                    )
                ).one()
                if count >= limit:
                    return (_aware(oldest) or now) + WINDOW
        return None

    def sign_in(self, name: str, password: str, address: str) -> OperatorView:
        """The operator, if the password matches and no limit is reached; else 401 or 429."""
        now = self.clock.now()
        name = name.strip()[:64]
        name_key, address_key = self._hash("name", name.lower()), self._hash("addr", address)
        retry_at = self._limited(name_key, address_key, now)
        if retry_at is not None:
            raise _rate_limited(retry_at, now)
        with self.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            row = conn.execute(select(_OPERATORS).where(_OPERATORS.c.name == name)).first()
        # Unknown and disabled names run the same hash, so timing does not tell them apart.
        matches = verify_password(password, row.password_hash if row is not None else DUMMY_HASH)
        if row is None or row.disabled_at is not None or not matches:
            self._fail(name_key, address_key, row.id if row is not None else None, now)
            raise ExitRightError(
                ErrorCode.UNAUTHENTICATED, message_id="admin.error.bad_credentials"
            )
        with self.engine.begin() as conn:
            conn.execute(delete(_ATTEMPTS).where(_ATTEMPTS.c.key_hash == name_key))
            conn.execute(
                update(_OPERATORS)
                .where(_OPERATORS.c.id == row.id)
                .values(last_sign_in_at=now, locked_until=None)
            )
            fresh = conn.execute(select(_OPERATORS).where(_OPERATORS.c.id == row.id)).one()
        return _view(fresh)

    def _fail(
        self, name_key: str, address_key: str, operator_id: str | None, now: datetime
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(_ATTEMPTS).where(_ATTEMPTS.c.at <= now - WINDOW))
            conn.execute(
                insert(_ATTEMPTS),
                [{"key_hash": name_key, "at": now}, {"key_hash": address_key, "at": now}],
            )
            if operator_id is None:
                return
            count, oldest = conn.execute(
                select(func.count(), func.min(_ATTEMPTS.c.at)).where(
                    _ATTEMPTS.c.key_hash == name_key, _ATTEMPTS.c.at > now - WINDOW
                )
            ).one()
            if count >= NAME_LIMIT:
                # Recorded for the operator list; the lock itself is the attempts count above.
                conn.execute(
                    update(_OPERATORS)
                    .where(_OPERATORS.c.id == operator_id)
                    .values(locked_until=(_aware(oldest) or now) + WINDOW)
                )


def _rate_limited(retry_at: datetime, now: datetime) -> ExitRightError:
    seconds = max(1, int((retry_at - now).total_seconds()) + 1)
    return ExitRightError(
        ErrorCode.RATE_LIMITED,
        details={"retry_after": seconds},
        message_id="admin.error.sign_in_locked",
        params={"minutes": max(1, (seconds + 59) // 60)},
    )
