"""The carrier file: numbers a carrier reissued (or will reissue), with the date, as CSV.

Format (UTF-8, a byte-order mark is tolerated; comma-separated)::

    # lines starting with "#" and blank lines are ignored
    number,recycled_on          <- optional header row
    13812345678,2026-03-01
    +86 139-0000-0000,2026-03-02

``number`` is a mainland mobile number written in any common way, or an E.164 number;
``recycled_on`` is the (China Standard Time) date the number went to a new subscriber, as
``YYYY-MM-DD``. A future date is allowed: carriers notify platforms before reissue. Problems are
reported by line number and kind (``columns``, ``phone``, ``date``) — never with the line's text,
which is personal data.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from exitright.errors import ExitRightError
from exitright.identity.identifiers import Identifier, parse_identifier
from exitright.identity.otp import Factor

__all__ = ["BadRow", "CarrierRow", "read_carrier_file"]

_HEADERS: Final = frozenset({"number", "phone", "phone_number", "msisdn"})


@dataclass(frozen=True)
class CarrierRow:
    """One valid line: the number and the day it changed hands."""

    line: int
    identifier: Identifier
    recycled_on: date


@dataclass(frozen=True)
class BadRow:
    """A line that could not be read, and why (``columns``, ``phone`` or ``date``)."""

    line: int
    problem: str


def _parse_date(value: str) -> date | None:
    text = value.strip()
    if len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def read_carrier_file(path: Path) -> Iterator[CarrierRow | BadRow]:
    """Every data line of the file, parsed or reported, in file order (streamed)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        # csv counts physical lines itself; a quoted cell could span two, so ask it.
        reader = csv.reader(fh)
        seen_data = False
        for cells in reader:
            line = reader.line_num
            if not cells or not "".join(cells).strip() or cells[0].lstrip().startswith("#"):
                continue
            if not seen_data and cells[0].strip().lower() in _HEADERS:
                seen_data = True
                continue
            seen_data = True
            if len(cells) != 2:
                yield BadRow(line, "columns")
                continue
            try:
                identifier = parse_identifier(Factor.PHONE, cells[0])
            except ExitRightError:
                yield BadRow(line, "phone")
                continue
            day = _parse_date(cells[1])
            if day is None:
                yield BadRow(line, "date")
                continue
            yield CarrierRow(line, identifier, day)
