"""The session-wide log guard (tests/pi_log_guard.py) catches what it is there to catch."""

from __future__ import annotations

import logging
import sys

from tests import pi_log_guard
from tests.pi_log_guard import GuardHandler


def _record(msg: str, *args: object, name: str = "exitright.test") -> logging.LogRecord:
    return logging.LogRecord(name, logging.DEBUG, __file__, 1, msg, args, None)


def test_a_planted_phone_number_in_a_record_is_caught_by_logger_and_template() -> None:
    """The hit names the logger, the template and the kind — not the number."""
    handler = GuardHandler()
    handler.test = "planted"
    handler.handle(_record("sending code to %s", "13812345678", name="exitright.identity"))
    assert len(handler.hits) == 1
    hit = handler.hits[0]
    assert (hit.logger, hit.template, hit.kinds) == (
        "exitright.identity",
        "sending code to %s",
        ("phone",),
    )
    assert "13812345678" not in hit.describe()


def test_personal_data_in_the_template_or_a_traceback_is_caught_and_masked_in_the_report() -> None:
    """An f-string leak puts the value in the template: the report shows its label instead."""
    handler = GuardHandler()
    handler.handle(_record("user li.wei@example.cn signed in"))
    try:
        raise RuntimeError("id 11010519491231002X failed")
    except RuntimeError:
        record = _record("step failed")
        record.exc_info = sys.exc_info()
        handler.handle(record)
    assert [h.kinds for h in handler.hits] == [("email",), ("id_number",)]
    assert "li.wei@example.cn" not in handler.hits[0].describe()
    assert "[email]" in handler.hits[0].template


def test_clean_records_are_counted_but_not_reported_and_allowed_tests_are_skipped() -> None:
    """Request ids, pseudonyms and counts pass; a test marked allow_pi_in_logs is not reported."""
    handler = GuardHandler()
    handler.handle(_record("request %s advanced (%d steps)", "req_5j6hzmrdnf2awe4ilaznmxbe", 3))
    handler.allowed = True
    handler.handle(_record("masking test %s", "13812345678"))
    assert handler.count == 2 and handler.hits == []


def test_the_session_guard_is_capturing_this_run() -> None:
    """This very session: the handler sits on the exitright logger at DEBUG and saw the canary."""
    logger = logging.getLogger("exitright")
    assert pi_log_guard._handler in logger.handlers
    assert logger.level == logging.DEBUG
    assert "start" in pi_log_guard._handler.canaries
    before = pi_log_guard._handler.count
    logging.getLogger("exitright.anything").debug("a debug record")
    assert pi_log_guard._handler.count == before + 1
