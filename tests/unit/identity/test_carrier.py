"""The carrier file: its format, bad rows by line number, all or nothing, re-imports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from exitright.errors import ErrorCode, ExitRightError
from exitright.identity.carrier import BadRow, CarrierRow, read_carrier_file
from exitright.identity.identifiers import parse_identifier
from exitright.identity.models import RecycledMark
from exitright.identity.recycled import RecycledGuard, Source
from exitright.ledger.models import LedgerEntry

GOOD = """\
# carrier export
number,recycled_on
13812345678,2026-03-01
+86 139-0000-0000,2026-03-02

15000000001,2026-03-03
"""

BAD = """\
number,recycled_on
13812345678,2026-03-01
12345,2026-03-01
13900000000,01/03/2026
13900000001
13900000002,2026-02-30
15000000001,2026-03-03
"""


def _write(tmp_path: Path, text: str, name: str = "carrier.csv") -> Path:
    """The text as a file."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_documented_format_reads_with_comments_header_and_blank_lines(tmp_path: Path) -> None:
    """Three numbers, each with its line and day."""
    rows = list(read_carrier_file(_write(tmp_path, GOOD)))
    assert all(isinstance(r, CarrierRow) for r in rows)
    assert [(r.line, r.recycled_on) for r in rows if isinstance(r, CarrierRow)] == [
        (3, date(2026, 3, 1)),
        (4, date(2026, 3, 2)),
        (6, date(2026, 3, 3)),
    ]


def test_bad_rows_are_reported_by_line_number_and_kind(tmp_path: Path) -> None:
    """Lines 3–6 are wrong in four ways; the report never carries their text."""
    bad = [r for r in read_carrier_file(_write(tmp_path, BAD)) if isinstance(r, BadRow)]
    assert [(b.line, b.problem) for b in bad] == [
        (3, "phone"),
        (4, "date"),
        (5, "columns"),
        (6, "date"),
    ]


def test_a_file_with_bad_rows_imports_nothing(
    tmp_path: Path, guard: RecycledGuard, engine: Engine
) -> None:
    """All or nothing: the error lists the lines, and no mark or ledger entry is written."""
    with pytest.raises(ExitRightError) as exc:
        guard.import_carrier_file(_write(tmp_path, BAD))
    assert exc.value.code is ErrorCode.INVALID_FILE
    assert exc.value.details["bad_row_count"] == 4
    assert [b["line"] for b in exc.value.details["bad_rows"]] == [3, 4, 5, 6]
    assert "13900000000" not in str(exc.value.details) + str(exc.value.params)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(RecycledMark)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(LedgerEntry)).scalar() == 0


def test_skipping_bad_rows_imports_the_good_ones(tmp_path: Path, guard: RecycledGuard) -> None:
    """With allow_bad_rows the two good numbers are marked and the four bad lines reported."""
    report = guard.import_carrier_file(_write(tmp_path, BAD), allow_bad_rows=True)
    assert (report.imported, report.bad_row_count) == (2, 4)
    marks = guard.marks(parse_identifier("phone", "13812345678"))
    assert [(m.recycled_on, m.source) for m in marks] == [(date(2026, 3, 1), Source.CARRIER_FILE)]


def test_importing_the_same_file_twice_changes_nothing(
    tmp_path: Path, guard: RecycledGuard, engine: Engine
) -> None:
    """The second import finds every number already known; one ledger entry per import."""
    path = _write(tmp_path, GOOD)
    assert guard.import_carrier_file(path).imported == 3
    second = guard.import_carrier_file(path)
    assert (second.imported, second.already_known) == (0, 3)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(RecycledMark)).scalar() == 3
        events = conn.execute(select(LedgerEntry.event, LedgerEntry.data)).all()
    assert [e.event for e in events] == ["identity.carrier_file_imported"] * 2
    assert events[0].data["imported"] == 3


def test_a_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path, guard: RecycledGuard) -> None:
    """A GBK export is refused with the file name, not a traceback."""
    path = tmp_path / "gbk.csv"
    path.write_bytes("号码,日期\n13812345678,2026-03-01\n".encode("gbk"))
    with pytest.raises(ExitRightError) as exc:
        guard.import_carrier_file(path)
    assert exc.value.message_id == "identity.error.carrier_file_unreadable"


def test_a_large_file_imports_in_batches(tmp_path: Path, guard: RecycledGuard) -> None:
    """2,500 numbers (three batches) in one transaction."""
    lines = "\n".join(f"1380000{i:04d},2026-03-01" for i in range(2500))
    report = guard.import_carrier_file(_write(tmp_path, lines))
    assert report.imported == 2500
