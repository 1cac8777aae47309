"""RISC ``identifier-recycled`` events into recycled marks: the protocols part's guard port.

:class:`RiscRecycledGuard` implements
:class:`exitright.protocols.receiver.RecycledIdentifierGuard`: a trusted issuer (a carrier, an
identity provider) says a phone number or e-mail now belongs to someone else, and the guard keeps
a ``risc-event`` mark in the receipt's own transaction. The event carries no date of its own, so
the mark is dated the (China Standard Time) day the event was issued: the number had changed
hands by then. The web app wires it in :func:`exitright.bootstrap.protocols_runtime`
(``RiscRecycledGuard(build_guard(settings, engine))``), so a code to that number no longer opens
an account last verified before that day.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from exitright.clock import Clock, as_utc
from exitright.errors import ExitRightError
from exitright.identity.identifiers import parse_identifier
from exitright.identity.recycled import CST, RecycledGuard, Source

if TYPE_CHECKING:
    from exitright.protocols.receiver import RecycledIdentifier

__all__ = ["RiscRecycledGuard"]


class RiscRecycledGuard:
    """Turns accepted ``identifier-recycled`` SETs into marks (outcome ``marked`` / ``known``)."""

    def __init__(self, guard: RecycledGuard) -> None:
        self.guard = guard

    def identifier_recycled(
        self, conn: Connection, clock: Clock, notice: RecycledIdentifier
    ) -> str:
        """Record a ``risc-event`` mark inside the receipt's transaction."""
        try:
            identifier = parse_identifier(notice.kind, notice.value)
        except ExitRightError:
            return "invalid_identifier"
        issued = as_utc(datetime.fromtimestamp(notice.iat, UTC)) if notice.iat else clock.now()
        day = as_utc(min(issued, as_utc(clock.now()))).astimezone(CST).date()
        # The jti is the issuer's opaque id; kept (shortened) to trace the mark to its event.
        reference = f"risc:{notice.jti}"[:200]
        _, created = self.guard.mark_in(conn, identifier, day, Source.RISC_EVENT, reference)
        return "marked" if created else "known"
