"""The recycled-identifier guard: who holds this number now, and may a code open the old account?

Carriers reissue a cancelled mobile number after 90 days (China). A platform that lets a code to
that number open the account registered with it hands the old owner's orders, addresses and
wallet to the number's new holder. The guard keeps *marks* — "this identifier went to a new
holder on day D" — from an operator, a carrier file, a look-up (CAMARA NumberRecycling) or a RISC
``identifier-recycled`` event, and :meth:`RecycledGuard.guard` decides: if the identifier
changed hands after the account last proved control of it, the code proves nothing about the
account: freeze it (recoverable only through another registered factor) and offer the caller a
fresh account.

Dates are carrier dates in China Standard Time. A mark on day D means the new holder has it from
the start of D, so a verification on D or later was the new holder's own (their fresh account is
never frozen by the mark that created it). Marks dated in the future (carriers notify ahead of
reissue) take effect on their day.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final, cast

from sqlalchemy import Connection, Engine, Table, insert, select, tuple_
from sqlalchemy.exc import IntegrityError

from exitright.clock import Clock, as_utc
from exitright.errors import ErrorCode, ExitRightError
from exitright.identity.carrier import BadRow, CarrierRow, read_carrier_file
from exitright.identity.decision import (
    CST,
    Decision,
    IdentifierStatus,
    Mark,
    Source,
    Verdict,
    decide,
    start_of,
)
from exitright.identity.freezes import Freeze, Freezes, new_id
from exitright.identity.identifiers import Identifier, identifier_hash, ledger_subject
from exitright.identity.lookup import LookupAnswer, RecyclingLookup
from exitright.identity.models import RecycledMark
from exitright.identity.otp import Factor
from exitright.ledger import service as ledger

# The decision's names are re-exported: callers need one import for the guard and its answers.
__all__ = [
    "CST",
    "Decision",
    "Freeze",
    "IdentifierStatus",
    "ImportReport",
    "Mark",
    "RecycledGuard",
    "Source",
    "Verdict",
    "decide",
]

log = logging.getLogger("exitright.identity.recycled")

_MARKS = cast(Table, RecycledMark.__table__)
_BATCH: Final = 1000
_REPORTED_BAD_ROWS: Final = 50


@dataclass(frozen=True)
class ImportReport:
    """What a carrier file import did; ``bad_rows`` lists problems by line number."""

    imported: int
    already_known: int
    bad_rows: Sequence[BadRow]
    bad_row_count: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form (line numbers and problem kinds only)."""
        return {
            "imported": self.imported,
            "already_known": self.already_known,
            "bad_row_count": self.bad_row_count,
            "bad_rows": [{"line": b.line, "problem": b.problem} for b in self.bad_rows],
        }


def _invalid(message_id: str, **details: Any) -> ExitRightError:
    return ExitRightError(
        ErrorCode.INVALID_REQUEST, details=details, message_id=message_id, params=details
    )


class RecycledGuard:
    """Marks, look-ups, the guard decision and account freezes, on the engine database."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        key: bytes,
        lookup: RecyclingLookup | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.key = key
        self.lookup = lookup
        self.freezes = Freezes(engine, clock, key)

    # Marks --------------------------------------------------------------------------------------

    def mark_recycled(
        self,
        identifier: Identifier,
        recycled_on: date,
        source: Source | str = Source.OPERATOR,
        *,
        reference: str | None = None,
    ) -> Mark:
        """Record that ``identifier`` went to a new holder on ``recycled_on`` (idempotent).

        Appends ``identity.identifier_recycled`` to the ledger under the identifier's pseudonym.
        """
        src = Source(source)
        if reference is not None and len(reference) > 200:
            raise _invalid("identity.error.reference_too_long", field="reference")
        try:
            with self.engine.begin() as conn:
                mark, _created = self.mark_in(conn, identifier, recycled_on, src, reference)
        except IntegrityError:
            # The same mark was recorded at the same moment by another caller: it is there now.
            digest = identifier_hash(self.key, identifier)
            with self.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
                found = self._find(conn, digest, recycled_on, src)
            if found is None:
                raise
            return found
        return mark

    def mark_in(
        self,
        conn: Connection,
        identifier: Identifier,
        recycled_on: date,
        source: Source,
        reference: str | None = None,
    ) -> tuple[Mark, bool]:
        """:meth:`mark_recycled` inside the caller's transaction; returns (mark, newly created).

        For callers that must record the mark together with their own change (a received
        Security Event Token and its receipt).
        """
        digest = identifier_hash(self.key, identifier)
        existing = self._find(conn, digest, recycled_on, source)
        if existing is not None:
            return existing, False
        mark = Mark(new_id("rm_"), recycled_on, source, reference)
        self._insert(conn, digest, mark)
        ledger.append(
            conn,
            self.clock,
            "identity.identifier_recycled",
            subject=ledger_subject(digest),
            data={
                "mark": mark.id,
                "recycled_on": recycled_on.isoformat(),
                "source": source.value,
            },
        )
        return mark, True

    def marks(self, identifier: Identifier) -> list[Mark]:
        """Every mark of ``identifier``, oldest day first."""
        digest = identifier_hash(self.key, identifier)
        with self.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            rows = conn.execute(
                select(_MARKS)
                .where(_MARKS.c.identifier_hash == digest)
                .order_by(_MARKS.c.recycled_on, _MARKS.c.id)
            ).all()
        return [Mark(r.id, r.recycled_on, Source(r.source), r.reference) for r in rows]

    def _find(self, conn: Connection, digest: str, day: date, src: Source) -> Mark | None:
        row = conn.execute(
            select(_MARKS).where(
                _MARKS.c.identifier_hash == digest,
                _MARKS.c.recycled_on == day,
                _MARKS.c.source == src.value,
            )
        ).first()
        return Mark(row.id, row.recycled_on, src, row.reference) if row else None

    def _insert(self, conn: Connection, digest: str, mark: Mark) -> None:
        conn.execute(
            insert(_MARKS).values(
                id=mark.id,
                identifier_hash=digest,
                recycled_on=mark.recycled_on,
                source=mark.source.value,
                reference=mark.reference,
                noted_at=self.clock.now(),
            )
        )

    def import_carrier_file(self, path: Path, *, allow_bad_rows: bool = False) -> ImportReport:
        """Import a carrier file (format: :mod:`exitright.identity.carrier`) in one transaction.

        A file with any bad row imports nothing and raises ``invalid_file`` listing the lines
        (never a half-applied file) unless ``allow_bad_rows``, which imports the good rows and
        reports the bad ones. Rows already known are skipped, so re-importing is harmless. The
        ledger gets one ``identity.carrier_file_imported`` entry per file (not one per number).
        """
        rows, bad, bad_count = self._read(path)
        if bad_count and not allow_bad_rows:
            raise ExitRightError(
                ErrorCode.INVALID_FILE,
                details={
                    "bad_row_count": bad_count,
                    "bad_rows": [{"line": b.line, "problem": b.problem} for b in bad],
                },
                message_id="identity.error.carrier_file_rows",
                params={
                    "count": bad_count,
                    "lines": ", ".join(f"{b.line} ({b.problem})" for b in bad[:10]),
                },
            )
        imported = known = 0
        reference = f"carrier-file:{path.name}"[:200]
        with self.engine.begin() as conn:
            for start in range(0, len(rows), _BATCH):
                batch = rows[start : start + _BATCH]
                keys = {(identifier_hash(self.key, r.identifier), r.recycled_on) for r in batch}
                present = self._present(conn, keys)
                for digest, day in sorted(keys - present):
                    mark = Mark(new_id("rm_"), day, Source.CARRIER_FILE, reference)
                    self._insert(conn, digest, mark)
                    imported += 1
                known += len(batch) - (len(keys) - len(present))
            ledger.append(
                conn,
                self.clock,
                "identity.carrier_file_imported",
                data={
                    "source": Source.CARRIER_FILE.value,
                    "imported": imported,
                    "already_known": known,
                    "bad_rows": bad_count,
                    "file": _file_digest(path),
                },
            )
        return ImportReport(imported, known, bad, bad_count)

    def _read(self, path: Path) -> tuple[list[CarrierRow], list[BadRow], int]:
        rows: list[CarrierRow] = []
        bad: list[BadRow] = []
        bad_count = 0
        try:
            for item in read_carrier_file(path):
                if isinstance(item, BadRow):
                    bad_count += 1
                    if len(bad) < _REPORTED_BAD_ROWS:
                        bad.append(item)
                else:
                    rows.append(item)
        except (OSError, UnicodeDecodeError) as exc:
            raise ExitRightError(
                ErrorCode.INVALID_FILE,
                details={"file": path.name, "problem": type(exc).__name__},
                message_id="identity.error.carrier_file_unreadable",
                params={"file": path.name},
            ) from None
        return rows, bad, bad_count

    def _present(self, conn: Connection, keys: set[tuple[str, date]]) -> set[tuple[str, date]]:
        if not keys:
            return set()
        found = conn.execute(
            select(_MARKS.c.identifier_hash, _MARKS.c.recycled_on).where(
                _MARKS.c.source == Source.CARRIER_FILE.value,
                tuple_(_MARKS.c.identifier_hash, _MARKS.c.recycled_on).in_(list(keys)),
            )
        ).all()
        return {(r.identifier_hash, r.recycled_on) for r in found}

    # Questions ----------------------------------------------------------------------------------

    def guard(self, identifier: Identifier, account_last_verified_at: datetime) -> Decision:
        """May a proven code to ``identifier`` open the account that last proved it then?

        Local marks first; if none tells, a configured look-up is asked about phone numbers
        (a "recycled" answer is kept as a ``lookup`` mark dated the day after the account's
        last verification — the earliest day consistent with the answer).
        """
        now = as_utc(self.clock.now())
        decision = decide(self.marks(identifier), account_last_verified_at, now)
        if decision.freeze_old_account or self.lookup is None:
            return decision
        if identifier.factor is not Factor.PHONE:
            return decision
        since = as_utc(account_last_verified_at).astimezone(CST).date()
        result = self.lookup.check(identifier.value, since)
        if result.answer is LookupAnswer.RECYCLED and since < now.astimezone(CST).date():
            mark = self.mark_recycled(
                identifier, since + timedelta(days=1), Source.LOOKUP, reference="lookup"
            )
            return decide([mark], account_last_verified_at, now, LookupAnswer.RECYCLED)
        # A "yes" about a day that has not ended cannot be placed on a day: no evidence yet.
        return Decision(Verdict.OPEN_ACCOUNT, lookup=result.answer)

    def status(self, identifier: Identifier, since: date) -> IdentifierStatus:
        """Whether ``identifier`` went to a new holder after the day ``since`` (for others)."""
        now = as_utc(self.clock.now())
        after = start_of(since) + timedelta(days=1) - timedelta(microseconds=1)
        decision = decide(self.marks(identifier), after, now)
        if decision.freeze_old_account:
            return IdentifierStatus(True, since, decision.recycled_on, decision.source)
        if self.lookup is None or identifier.factor is not Factor.PHONE:
            return IdentifierStatus(False, since)
        result = self.lookup.check(identifier.value, since)
        checked = ("marks", "lookup")
        if result.answer is LookupAnswer.RECYCLED and since < now.astimezone(CST).date():
            mark = self.mark_recycled(
                identifier, since + timedelta(days=1), Source.LOOKUP, reference="lookup"
            )
            return IdentifierStatus(True, since, mark.recycled_on, Source.LOOKUP, checked)
        if result.answer is LookupAnswer.NOT_RECYCLED:
            return IdentifierStatus(False, since, checked=checked)
        return IdentifierStatus(None, since, checked=checked)

    # Freezes (see :mod:`exitright.identity.freezes`) -------------------------------------------

    def freeze(self, account_ref: str, identifier: Identifier, decision: Decision) -> Freeze:
        """Freeze the account ``decision`` says lost ``identifier`` (idempotent)."""
        return self.freezes.freeze(account_ref, identifier, decision)

    def frozen(self, account_ref: str) -> Freeze | None:
        """The account's active freeze, or None."""
        return self.freezes.frozen(account_ref)

    def frozen_identifier_hash(self, account_ref: str) -> str | None:
        """The keyed hash of the identifier that froze the account (None: not frozen)."""
        return self.freezes.frozen_identifier_hash(account_ref)

    def lift(self, account_ref: str, via: Factor) -> Freeze | None:
        """Lift the freeze once the owner proved ``via`` (another registered factor)."""
        return self.freezes.lift(account_ref, via)


def _file_digest(path: Path) -> str:
    # Base32, not hex: a hex digest can hold eleven digits in a row, which the ledger's
    # personal-data check would take for a phone number.
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return "sha256-b32:" + base64.b32encode(digest.digest()).decode().rstrip("=").lower()
