"""A pytest plugin: the whole run logs ``exitright`` at DEBUG, and no record may hold personal data.

At the start of the session a handler is attached to the ``exitright`` logger (so it sees every
``exitright.*`` record whatever a test does to the root logger), and that logger is set to DEBUG
before each test. Each record is formatted by the product's :class:`JsonFormatter` *without*
redaction — a hit is a leak in the code, even where production's filter would mask it — and
scanned with the PI detectors as it comes. At the end of the session any hit fails the run; the
report names the test, the logger, the message template (itself redacted) and the kinds found,
never the value.

It cannot pass vacuously: a canary record (no PI) is logged at the start and at the end of the
session, and both must have been captured; the number of records scanned is printed. A test that
logs personal data on purpose (to test the redaction itself) says so with
``@pytest.mark.allow_pi_in_logs``. tests/unit/observability/test_pi_log_guard.py checks that a
planted phone number is caught.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Final

import pytest

from exitright.observability.logs import JsonFormatter, redact_all
from exitright.pii.detect import find

LOGGER: Final = "exitright"
CANARY_LOGGER: Final = "exitright.tests.pi_log_guard"
CANARY: Final = "pi log guard canary %s"
MARKER: Final = "allow_pi_in_logs"


@dataclass(frozen=True)
class Hit:
    """One record that held personal data: where it came from, never the value."""

    test: str
    logger: str
    template: str
    kinds: tuple[str, ...]

    def describe(self) -> str:
        """One line for the report."""
        return f"{self.test}: logger {self.logger!r}, message {self.template!r}: {self.kinds}"


def scan(line: str) -> tuple[str, ...]:
    """The kinds of personal data the detectors find in one formatted record."""
    return tuple(sorted({f.kind for f in find(line)}))


class GuardHandler(logging.Handler):
    """Formats each record as the product would and keeps only what the detectors find."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.count = 0
        self.canaries: set[str] = set()
        self.hits: list[Hit] = []
        self.test = "(outside a test)"
        self.allowed = False
        self._mutex = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        """Scan one record; remember a hit by its logger and template, not its text."""
        try:
            line = self.format(record)
        except Exception:  # a broken record is the product handler's problem, not a leak
            return
        with self._mutex:
            self.count += 1
            if record.name == CANARY_LOGGER and isinstance(record.args, tuple):
                self.canaries.add(str(record.args[0]))
                return
            kinds = scan(line)
            if kinds and not self.allowed:
                template = redact_all(str(record.msg))[:200]
                self.hits.append(Hit(self.test, record.name, template, kinds))


_handler = GuardHandler()


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker and attach the handler for the whole session."""
    config.addinivalue_line(
        "markers", f"{MARKER}: this test logs personal data on purpose (testing the redaction)"
    )
    logger = logging.getLogger(LOGGER)
    if _handler not in logger.handlers:
        logger.addHandler(_handler)
    logger.setLevel(logging.DEBUG)
    logging.getLogger(CANARY_LOGGER).debug(CANARY, "start")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """DEBUG again before each test (a test may have changed it), and note whose records come."""
    logger = logging.getLogger(LOGGER)
    logger.setLevel(logging.DEBUG)
    if _handler not in logger.handlers:
        logger.addHandler(_handler)
    _handler.test = item.nodeid
    _handler.allowed = item.get_closest_marker(MARKER) is not None


def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Records after the test (threads winding down) still count, but as nobody's."""
    _handler.test = f"{item.nodeid} (after)"
    _handler.allowed = False


def problems() -> list[str]:
    """Why the session must fail: leaks, or a capture that did not run the whole time."""
    logging.getLogger(CANARY_LOGGER).debug(CANARY, "end")
    out: list[str] = []
    missing = {"start", "end"} - _handler.canaries
    if missing:
        out.append(f"the log guard missed its canary record(s) {sorted(missing)}: not capturing")
    out += [hit.describe() for hit in _handler.hits]
    return out


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run on any personal data in a log record, or if nothing was captured."""
    found = problems()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("-", f"exitright logs at DEBUG: {_handler.count} records scanned")
        for line in found:
            reporter.write_line(f"PERSONAL DATA IN LOGS: {line}", red=True)
    if found and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
