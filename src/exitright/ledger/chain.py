"""The hash chain itself, pure: how an entry is hashed and how a sequence of entries is verified.

Each entry's hash is SHA-256 over the canonical JSON of every field but the hash itself,
including the previous entry's hash. Changing any field of any entry, removing, inserting or
reordering entries breaks the chain at that point; cutting off the tail is detected against a
published checkpoint (sequence + hash).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

GENESIS = "0" * 64

JsonValue = Any  # str | int | bool | None | list[JsonValue] | dict[str, JsonValue]


@dataclass(frozen=True)
class Entry:
    """One ledger entry as stored."""

    seq: int
    at: str  # ISO 8601 UTC with microseconds, e.g. 2026-11-28T12:00:00.000000Z
    event: str
    request_id: str | None
    subject: str | None  # the subject's pseudonym, never an identifier
    data: Mapping[str, JsonValue] = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = ""


@dataclass(frozen=True)
class Checkpoint:
    """A published head of the ledger: sequence number and hash."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read ``SEQ:HASH`` as printed by ``exitright ledger checkpoint``."""
        seq, sep, digest = text.strip().partition(":")
        if not sep or not seq.isdigit() or len(digest) != 64:
            raise ValueError("a checkpoint looks like 1234:<64 hex digits>")
        int(digest, 16)
        return cls(int(seq), digest.lower())


@dataclass(frozen=True)
class Verdict:
    """The result of verifying a chain."""

    ok: bool
    entries: int
    head: Checkpoint | None
    broken_seq: int | None = None
    reason: str | None = None


def canonical(value: JsonValue) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, UTF-8; the bytes that get hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: Entry) -> str:
    """The SHA-256 hex digest that ``entry.hash`` must hold."""
    body = {
        "seq": entry.seq,
        "at": entry.at,
        "event": entry.event,
        "request_id": entry.request_id,
        "subject": entry.subject,
        "data": dict(entry.data),
        "prev_hash": entry.prev_hash,
    }
    return hashlib.sha256(canonical(body)).hexdigest()


def seal(entry: Entry) -> Entry:
    """``entry`` with its hash filled in."""
    return Entry(**{**entry.__dict__, "hash": entry_hash(entry)})


def verify(entries: Iterable[Entry], checkpoint: Checkpoint | None = None) -> Verdict:
    """Check a ledger read in sequence order; name the first entry that does not hold.

    With a checkpoint, also require that the entry at its sequence still has its hash —
    which detects a tail cut off (or rewritten) after the head was published.
    """
    prev_hash = GENESIS
    expected = 1
    count = 0
    last: Entry | None = None
    checkpoint_seen = False
    for entry in entries:
        count += 1
        if entry.seq != expected:
            kind = "missing entries before it" if entry.seq > expected else "out of order"
            return _broken(
                count, last, entry.seq, f"sequence {entry.seq}: {kind} (expected {expected})"
            )
        if entry.prev_hash != prev_hash:
            return _broken(count, last, entry.seq, "does not link to the entry before it")
        if entry_hash(entry) != entry.hash:
            return _broken(count, last, entry.seq, "its contents do not match its hash (altered)")
        if checkpoint and entry.seq == checkpoint.seq:
            checkpoint_seen = True
            if entry.hash != checkpoint.hash:
                return _broken(count, last, entry.seq, "differs from the published checkpoint")
        prev_hash = entry.hash
        expected += 1
        last = entry
    head = Checkpoint(last.seq, last.hash) if last else None
    if checkpoint and not checkpoint_seen:
        return Verdict(
            False,
            count,
            head,
            broken_seq=checkpoint.seq,
            reason=f"entries up to the published checkpoint {checkpoint.seq} are gone (truncated)",
        )
    return Verdict(True, count, head)


def _broken(count: int, last: Entry | None, seq: int, reason: str) -> Verdict:
    head = Checkpoint(last.seq, last.hash) if last else None
    return Verdict(False, count, head, broken_seq=seq, reason=reason)
