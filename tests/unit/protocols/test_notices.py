"""What people are shown of a notice: one state word and when it was reached."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from exitright.i18n import gettext
from exitright.privacy.status import recipient_lines
from exitright.protocols.notices import SHOWN_STATES, Notice

QUEUED = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
ANSWERED = QUEUED + timedelta(minutes=5)
ESCALATED = QUEUED + timedelta(days=3)


def notice(state: str, *, resolved: bool = False, escalated: bool = False) -> Notice:
    """A couriers account-purged notice in ``state``."""
    return Notice(
        jti="abcdefgh",
        recipient="couriers",
        event="account-purged",
        request_id="req_x",
        delivery="push",
        state=state,
        attempts=1,
        created_at=QUEUED,
        deadline_at=QUEUED + timedelta(days=2),
        resolved_at=ANSWERED if resolved else None,
        err="invalid_request" if state == "rejected" else None,
        escalated=escalated,
        escalated_at=ESCALATED if escalated else None,
    )


@pytest.mark.parametrize(
    ("given", "shown", "at"),
    [
        (notice("pending"), "pending", QUEUED),
        (notice("acknowledged", resolved=True), "acknowledged", ANSWERED),
        (notice("rejected", resolved=True), "rejected", ANSWERED),
        (notice("failed", resolved=True), "failed", ANSWERED),
        (notice("pending", escalated=True), "escalated", ESCALATED),
        (notice("failed", resolved=True, escalated=True), "escalated", ESCALATED),
        # Answered after it was escalated: the answer is what counts.
        (notice("acknowledged", resolved=True, escalated=True), "acknowledged", ANSWERED),
    ],
)
def test_a_notice_shows_its_answer_else_escalated_else_its_state(
    given: Notice, shown: str, at: datetime
) -> None:
    """acknowledged / rejected win; escalated beats pending and failed; dated when reached."""
    assert (given.shown_state, given.shown_at) == (shown, at)
    assert given.shown_state in SHOWN_STATES


def test_the_status_page_lines_are_in_china_time_with_catalog_keys_in_both_languages() -> None:
    """Each line names the recipient, the event, the jti, the state and the minute, in CST."""
    (line,) = recipient_lines([notice("acknowledged", resolved=True)], ZoneInfo("Asia/Shanghai"))
    assert (line.recipient, line.jti, line.state) == ("couriers", "abcdefgh", "acknowledged")
    assert line.at == "2026-11-28 12:05 CST"
    for lang in ("en", "zh-CN"):
        for key in (line.event_key, line.state_key):
            assert gettext(lang, key) != key
    for state in SHOWN_STATES:
        for event in ("account-purged", "account-disabled", "account-enabled"):
            for lang in ("en", "zh-CN"):
                assert gettext(lang, f"proof.notice.{state}") != f"proof.notice.{state}"
                assert gettext(lang, f"proof.event.{event}") != f"proof.event.{event}"
