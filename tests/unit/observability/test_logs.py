"""Structured logs: one JSON object per line, context fields, and PI redacted as a last resort."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from exitright.observability import logs


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A private logger writing through the product's handler into a string."""
    out = io.StringIO()
    log = logging.getLogger("exitright.test.observability")
    log.handlers = [logs.make_handler(out)]
    log.propagate = False
    log.setLevel(logging.DEBUG)
    yield log, out
    log.handlers = []


def lines(out: io.StringIO) -> list[dict[str, str]]:
    """The JSON objects written so far."""
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_record_is_one_json_line_with_time_level_logger_and_message(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    """The four fields, and a message formatted with its arguments."""
    log, out = logger
    log.info("claimed %d requests", 3)
    (record,) = lines(out)
    assert record["level"] == "INFO" and record["logger"] == "exitright.test.observability"
    assert record["message"] == "claimed 3 requests"
    assert record["time"].endswith("+00:00")


def test_bound_fields_appear_on_records_inside_and_not_after(
    logger: tuple[logging.Logger, io.StringIO],
) -> None:
    """bind() adds the request id and pseudonym; leaving it removes them."""
    log, out = logger
    with logs.bind(request_id="r-1", pseudonym="sp_abc"):
        log.warning("inside")
    log.warning("after")
    inside, after = lines(out)
    assert inside["request_id"] == "r-1" and inside["pseudonym"] == "sp_abc"
    assert "request_id" not in after and "pseudonym" not in after


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("13800138000", "[phone]"),
        ("+86 138 0013 8000", "[phone]"),
        ("li.wei@example.cn", "[email]"),
        ("11010519491231002X", "[id]"),
        ("6222020200112233446", "[card]"),
        ("北京市朝阳区建国路88号", "[address]"),
    ],
)
def test_pi_in_a_message_or_its_arguments_is_replaced_by_its_label(
    logger: tuple[logging.Logger, io.StringIO], value: str, label: str
) -> None:
    """Whether the value is in the format string or an argument, only the label is written."""
    log, out = logger
    log.info(f"direct {value} end")
    log.info("as argument %s end", value)
    log.info("in a structure %r", {"who": value})
    written = out.getvalue()
    assert value not in written
    assert [r["message"].count(label) for r in lines(out)] == [1, 1, 1]


def test_pi_in_a_traceback_is_replaced(logger: tuple[logging.Logger, io.StringIO]) -> None:
    """An exception whose message quotes a phone number is logged with [phone] instead."""
    log, out = logger
    try:
        raise ValueError("duplicate key (phone)=(13800138000)")
    except ValueError:
        log.exception("insert failed")
    (record,) = lines(out)
    assert "13800138000" not in out.getvalue()
    assert "(phone)=([phone])" in record["exception"]


def test_a_malformed_log_call_is_still_written() -> None:
    """Too few arguments for the format: the record is formatted (redacted), not lost."""
    record = logging.LogRecord(
        "exitright.x", logging.INFO, __file__, 1, "two %s %s", ("13800138000",), None
    )
    assert logs.RedactingFilter().filter(record)
    message = json.loads(logs.JsonFormatter(redacted=True).format(record))["message"]
    assert "[phone]" in message and "13800138000" not in message


def test_redaction_leaves_ordinary_text_alone() -> None:
    """Ids, counts and timestamps are not personal data."""
    text = "request req_abc at 2026-03-02T09:00:00Z: 3 steps, 12 rows, worker host:4242"
    assert logs.redact_all(text) == text


def test_configure_installs_one_handler_and_keeps_sql_statements_at_warning() -> None:
    """Twice configured is once configured; sqlalchemy.engine never logs parameters or rows."""
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    engine_level = logging.getLogger("sqlalchemy.engine").level
    try:
        logs.configure("DEBUG")
        logs.configure("DEBUG")
        ours = [h for h in root.handlers if h.get_name() == "exitright-json"]
        assert len(ours) == 1
        assert root.level == logging.DEBUG
        assert logging.getLogger("sqlalchemy.engine").getEffectiveLevel() == logging.WARNING
        assert logging.getLogger("uvicorn").propagate is True
        assert all(h in root.handlers for h in before)  # a test runner's capture stays
    finally:
        for handler in root.handlers:
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)
        logging.getLogger("sqlalchemy.engine").setLevel(engine_level)


def test_the_filter_leaves_the_record_itself_unchanged_for_other_handlers() -> None:
    """Another handler (a test runner's capture) still sees the original message and args."""
    record = logging.LogRecord(
        "exitright.x", logging.INFO, __file__, 1, "to %s", ("13800138000",), None
    )
    assert logs.RedactingFilter().filter(record)
    assert record.getMessage() == "to 13800138000"
    assert json.loads(logs.JsonFormatter(redacted=True).format(record))["message"] == "to [phone]"
    assert json.loads(logs.JsonFormatter().format(record))["message"] == "to 13800138000"


def test_the_default_handler_follows_sys_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    """Made once, it writes to whatever sys.stderr is at each record (a runner may swap it)."""
    handler = logs.make_handler()
    log = logging.getLogger("exitright.test.stderr")
    log.handlers, log.propagate = [handler], False
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    log.warning("one")
    monkeypatch.setattr("sys.stderr", second)
    log.warning("two")
    log.handlers = []
    assert json.loads(first.getvalue())["message"] == "one"
    assert json.loads(second.getvalue())["message"] == "two"
