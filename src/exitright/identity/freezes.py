"""Account freezes: an account whose identifier changed hands, until another factor proves it.

The platform stops every sign-in to a frozen account through the recycled identifier; the old
owner gets back in only by proving another registered factor (e-mail), which lifts the freeze.
Both steps are recorded in the ledger under the identifier's pseudonym.
"""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, insert, select, update

from exitright.clock import Clock, as_utc
from exitright.identity.decision import Decision
from exitright.identity.identifiers import Identifier, identifier_hash, ledger_subject
from exitright.identity.models import AccountFreeze
from exitright.identity.otp import Factor
from exitright.ledger import service as ledger

__all__ = ["Freeze", "Freezes", "new_id"]

log = logging.getLogger("exitright.identity.recycled")
_FREEZES = cast(Table, AccountFreeze.__table__)


def new_id(prefix: str) -> str:
    """A random id: ``prefix`` + 24 base32 characters (never mistaken for personal data)."""
    return prefix + base64.b32encode(secrets.token_bytes(15)).decode().lower()


def _aware(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes for DateTime(timezone=True); every value stored is UTC.
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Freeze:
    """An account frozen because its identifier changed hands."""

    id: str
    account_ref: str
    reason: str
    recycled_on: date | None
    frozen_at: datetime
    lifted_at: datetime | None = None
    lifted_via: str | None = None


def _freeze(row: Any) -> Freeze:
    return Freeze(
        id=row.id,
        account_ref=row.account_ref,
        reason=row.reason,
        recycled_on=row.recycled_on,
        frozen_at=_aware(row.frozen_at) or datetime.min.replace(tzinfo=UTC),
        lifted_at=_aware(row.lifted_at),
        lifted_via=row.lifted_via,
    )


class Freezes:
    """The freezes table, on the engine database."""

    def __init__(self, engine: Engine, clock: Clock, key: bytes) -> None:
        self.engine = engine
        self.clock = clock
        self.key = key

    def freeze(self, account_ref: str, identifier: Identifier, decision: Decision) -> Freeze:
        """Freeze the account ``decision`` says lost its identifier (idempotent).

        The platform stops every sign-in to ``account_ref`` by ``identifier``; the old owner gets
        back in only by proving another registered factor (:meth:`lift`). The ledger records
        ``identity.account_frozen`` under the identifier's pseudonym.
        """
        if not decision.freeze_old_account:
            raise ValueError("only a changed_hands decision freezes an account")
        digest = identifier_hash(self.key, identifier)
        with self.engine.begin() as conn:
            active = self._active(conn, account_ref)
            if active is not None:
                return active
            freeze = Freeze(
                id=new_id("fz_"),
                account_ref=account_ref,
                reason="identifier_recycled",
                recycled_on=decision.recycled_on,
                frozen_at=as_utc(self.clock.now()),
            )
            conn.execute(
                insert(_FREEZES).values(
                    id=freeze.id,
                    account_ref=account_ref,
                    identifier_hash=digest,
                    reason=freeze.reason,
                    recycled_on=freeze.recycled_on,
                    frozen_at=freeze.frozen_at,
                )
            )
            ledger.append(
                conn,
                self.clock,
                "identity.account_frozen",
                subject=ledger_subject(digest),
                data={
                    "freeze": freeze.id,
                    "reason": freeze.reason,
                    "recycled_on": decision.recycled_on.isoformat()
                    if decision.recycled_on
                    else None,
                    "source": decision.source.value if decision.source else None,
                },
            )
        log.info("account frozen: identifier changed hands (freeze %s)", freeze.id)
        return freeze

    def frozen(self, account_ref: str) -> Freeze | None:
        """The account's active freeze, or None."""
        with self.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            return self._active(conn, account_ref)

    def frozen_identifier_hash(self, account_ref: str) -> str | None:
        """The keyed hash of the identifier that froze the account (None: not frozen)."""
        with self.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            return conn.execute(
                select(_FREEZES.c.identifier_hash).where(
                    _FREEZES.c.account_ref == account_ref, _FREEZES.c.lifted_at.is_(None)
                )
            ).scalar()

    def lift(self, account_ref: str, via: Factor) -> Freeze | None:
        """Lift the freeze once the owner proved ``via`` (another registered factor).

        Callers must have verified ``via`` with a code first; :class:`IdentityService` does this
        when a code to another factor of a frozen account matches.
        """
        with self.engine.begin() as conn:
            active = self._active(conn, account_ref)
            if active is None:
                return None
            now = as_utc(self.clock.now())
            digest = conn.execute(
                select(_FREEZES.c.identifier_hash).where(_FREEZES.c.id == active.id)
            ).scalar_one()
            # Every active freeze of the account: two freezes recorded at once are lifted together.
            conn.execute(
                update(_FREEZES)
                .where(_FREEZES.c.account_ref == account_ref, _FREEZES.c.lifted_at.is_(None))
                .values(lifted_at=now, lifted_via=via.value)
            )
            ledger.append(
                conn,
                self.clock,
                "identity.account_recovered",
                subject=ledger_subject(digest),
                data={"freeze": active.id, "via": via.value},
            )
        return Freeze(
            active.id,
            active.account_ref,
            active.reason,
            active.recycled_on,
            active.frozen_at,
            now,
            via.value,
        )

    def _active(self, conn: Connection, account_ref: str) -> Freeze | None:
        row = conn.execute(
            select(_FREEZES)
            .where(_FREEZES.c.account_ref == account_ref, _FREEZES.c.lifted_at.is_(None))
            .order_by(_FREEZES.c.frozen_at)
            .limit(1)
        ).first()
        return _freeze(row) if row else None
