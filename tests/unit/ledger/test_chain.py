"""The hash chain detects any altered, removed, inserted, reordered or truncated entry."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exitright.ledger.chain import GENESIS, Checkpoint, Entry, seal, verify


def build(n: int) -> list[Entry]:
    """A valid chain of ``n`` entries."""
    out: list[Entry] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        entry = seal(
            Entry(
                seq=seq,
                at=f"2026-11-28T12:00:{seq % 60:02d}.000000Z",
                event="request.transition",
                request_id=f"req_{seq % 3}",
                subject="sp_abc",
                data={"to": "verified", "counts": {"orders": seq}},
                prev_hash=prev,
            )
        )
        out.append(entry)
        prev = entry.hash
    return out


def test_an_untouched_chain_verifies_and_reports_its_head() -> None:
    """Verification of an intact chain returns ok and the last entry as head."""
    chain = build(5)
    verdict = verify(chain)
    assert verdict.ok
    assert verdict.entries == 5
    assert verdict.head == Checkpoint(5, chain[-1].hash)


def test_an_empty_ledger_is_intact() -> None:
    """No entries is a valid (empty) ledger."""
    assert verify([]).ok


FIELDS = ["at", "event", "request_id", "subject", "data", "prev_hash", "hash", "seq"]


@given(st.integers(min_value=0, max_value=7), st.sampled_from(FIELDS))
def test_changing_any_field_of_any_entry_is_detected_at_that_entry(index: int, name: str) -> None:
    """Whatever field of whichever entry is changed, verification names that entry."""
    chain = build(8)
    victim = chain[index]
    value = getattr(victim, name)
    if name == "data":
        changed: object = {**value, "counts": {"orders": 999}}
    elif name == "seq":
        changed = value + 100
    elif isinstance(value, str):
        changed = value[:-1] + ("0" if value[-1] != "0" else "1")
    else:
        changed = "x"
    chain[index] = dataclasses.replace(victim, **{name: changed})
    verdict = verify(chain)
    assert not verdict.ok
    assert verdict.broken_seq in (victim.seq, victim.seq + 100)


@given(st.integers(min_value=0, max_value=5))
def test_removing_an_entry_is_detected(index: int) -> None:
    """A gap in the sequence breaks the chain at the entry after it (the last: see truncation)."""
    chain = build(7)
    del chain[index]
    verdict = verify(chain)
    assert not verdict.ok
    assert verdict.broken_seq == index + 2


def test_swapping_two_entries_is_detected() -> None:
    """Reordering is caught even if sequence numbers are rewritten to look contiguous."""
    chain = build(6)
    a, b = chain[2], chain[3]
    chain[2] = dataclasses.replace(b, seq=3)
    chain[3] = dataclasses.replace(a, seq=4)
    verdict = verify(chain)
    assert not verdict.ok
    assert verdict.broken_seq == 3


def test_a_rehashed_forgery_is_caught_by_the_next_entry() -> None:
    """Recomputing a changed entry's own hash still breaks the link from its successor."""
    chain = build(5)
    forged = seal(dataclasses.replace(chain[1], data={"to": "completed"}))
    chain[1] = forged
    verdict = verify(chain)
    assert not verdict.ok
    assert verdict.broken_seq == 3


def test_truncation_after_a_published_checkpoint_is_detected() -> None:
    """Cutting off the tail verifies on its own, but not against the published head."""
    chain = build(10)
    published = Checkpoint(10, chain[-1].hash)
    truncated = chain[:7]
    assert verify(truncated).ok
    verdict = verify(truncated, published)
    assert not verdict.ok
    assert verdict.broken_seq == 10
    assert "truncated" in (verdict.reason or "")


def test_a_rewritten_history_does_not_match_the_checkpoint() -> None:
    """A chain rebuilt from scratch with other contents fails at the checkpoint's entry."""
    chain = build(6)
    published = Checkpoint(4, chain[3].hash)
    rebuilt = build(6)
    rebuilt = [dataclasses.replace(e, at="2020-01-01T00:00:00.000000Z") for e in rebuilt]
    prev = GENESIS
    resealed = []
    for e in rebuilt:
        s = seal(dataclasses.replace(e, prev_hash=prev))
        resealed.append(s)
        prev = s.hash
    verdict = verify(resealed, published)
    assert not verdict.ok
    assert verdict.broken_seq == 4


@pytest.mark.parametrize("text", ["", "12", "x:" + "0" * 64, "3:" + "z" * 64, "3:abc"])
def test_malformed_checkpoints_are_refused(text: str) -> None:
    """A checkpoint must read SEQ:HASH with 64 hex digits."""
    with pytest.raises(ValueError):
        Checkpoint.parse(text)
