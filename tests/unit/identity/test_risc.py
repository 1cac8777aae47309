"""RISC identifier-recycled events become recycled marks in the receipt's transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from exitright.clock import FixedClock
from exitright.identity.identifiers import parse_identifier
from exitright.identity.recycled import RecycledGuard, Source
from exitright.identity.risc import RiscRecycledGuard
from exitright.protocols.receiver import RecycledIdentifier

from .conftest import T0

ISSUED = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)  # 2026-03-02 01:00 in China


def _notice(value: str = "+8613812345678", iat: datetime = ISSUED) -> RecycledIdentifier:
    """An accepted identifier-recycled event."""
    return RecycledIdentifier(
        "https://carrier.example", "jti-1", "phone", value, "h", int(iat.timestamp())
    )


def test_an_event_becomes_a_mark_dated_the_china_day_it_was_issued(
    engine: Engine, guard: RecycledGuard, clock: FixedClock
) -> None:
    """Issued 01:00 CST on 2 March: a risc-event mark on 2026-03-02, once."""
    handler = RiscRecycledGuard(guard)
    with engine.begin() as conn:
        assert handler.identifier_recycled(conn, clock, _notice()) == "marked"
    with engine.begin() as conn:
        assert handler.identifier_recycled(conn, clock, _notice()) == "known"
    marks = guard.marks(parse_identifier("phone", "13812345678"))
    assert [(m.recycled_on, m.source, m.reference) for m in marks] == [
        (date(2026, 3, 2), Source.RISC_EVENT, "risc:jti-1")
    ]


def test_the_mark_rolls_back_with_the_receipt(
    engine: Engine, guard: RecycledGuard, clock: FixedClock
) -> None:
    """If the receiver's transaction fails, no mark is left behind."""
    handler = RiscRecycledGuard(guard)
    conn = engine.connect()
    try:
        conn.begin()
        handler.identifier_recycled(conn, clock, _notice())
        conn.rollback()
    finally:
        conn.close()
    assert guard.marks(parse_identifier("phone", "13812345678")) == []


def test_an_event_dated_in_the_future_is_dated_now(
    engine: Engine, guard: RecycledGuard, clock: FixedClock
) -> None:
    """A skewed issuer clock cannot push the mark past today."""
    with engine.begin() as conn:
        RiscRecycledGuard(guard).identifier_recycled(
            conn, clock, _notice(iat=T0 + timedelta(days=30))
        )
    (mark,) = guard.marks(parse_identifier("phone", "13812345678"))
    assert mark.recycled_on == (T0 + timedelta(hours=8)).date()


def test_an_unusable_identifier_is_reported_not_raised(
    engine: Engine, guard: RecycledGuard, clock: FixedClock
) -> None:
    """A number we cannot normalize gets the outcome invalid_identifier."""
    with engine.begin() as conn:
        outcome = RiscRecycledGuard(guard).identifier_recycled(conn, clock, _notice("+1"))
    assert outcome == "invalid_identifier"
