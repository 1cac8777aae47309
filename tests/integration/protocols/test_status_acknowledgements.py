"""The status page lists the third parties told, with their answers read live from the outbox.

The certificate keeps each notice's state when it was signed (``pending``); the page shows what
happened since: a courier's acknowledgement, a merchant's refusal, a payment provider escalated
for silence — each with its jti and when, in the page's language. The certificate is unchanged.
"""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx

from exitright.clock import FixedClock, SystemClock
from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.i18n import gettext
from exitright.privacy.status import when
from exitright.protocols import notices, outbox
from exitright.protocols import set as sets
from tests.integration.privacy.conftest import customer_phone, privacy_server, wait_for_state
from tests.integration.privacy.test_cancel_pages import cancel

ROW = re.compile(
    r'<tr data-recipient="([^"]+)" data-event="([^"]+)" data-notice-state="([a-z]+)">'
    r".*?<code>([a-z2-7]+)</code></td></tr>"
)


def rows(page: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(recipient, event) → (shown state, jti) of the page's recipients table."""
    return {(r, e): (s, j) for r, e, s, j in ROW.findall(page)}


def test_the_status_page_shows_each_recipient_s_answer_as_it_arrives(settings: Settings) -> None:
    """pending at completion; then acknowledged / rejected / escalated, certificate unchanged."""
    with (
        privacy_server(settings, cooling_off_days=0) as live,
        httpx.Client(base_url=live.url, headers={"Accept-Language": "en"}) as client,
    ):
        path = cancel(client, customer_phone(live.settings))
        page = wait_for_state(client, path, ("completed",), timeout=60)
        shown = rows(page)
        purged = {r: v for (r, e), v in shown.items() if e == "account-purged"}
        assert {r: s for r, (s, _j) in purged.items()} == {
            "couriers": "pending",
            "merchants": "pending",
            "payment providers": "pending",
        }
        assert gettext("en", "proof.notice.pending") in page
        certificate = client.get(f"{path}/certificate").text

        engine = make_engine(live.settings.engine_url)
        try:
            clock = SystemClock()
            with engine.begin() as conn:
                assert outbox.acknowledge(conn, clock, purged["couriers"][1], recipient="couriers")
                assert outbox.reject(
                    conn, clock, purged["merchants"][1], "invalid_request", None,
                    recipient="merchants",
                )  # fmt: skip
                late = FixedClock(clock.now() + timedelta(days=30))
                assert purged["payment providers"][1] in outbox.escalate_overdue(conn, late)
            request_id = path.rsplit("/", 1)[-1]
            stored = {n.jti: n for n in notices.for_request(engine, request_id)}
        finally:
            engine.dispose()

        page = client.get(path).text
        after = {r: v for (r, e), v in rows(page).items() if e == "account-purged"}
        assert after == {
            "couriers": ("acknowledged", purged["couriers"][1]),
            "merchants": ("rejected", purged["merchants"][1]),
            "payment providers": ("escalated", purged["payment providers"][1]),
        }
        for label in ("acknowledged", "rejected", "escalated"):
            assert gettext("en", f"proof.notice.{label}") in page
        assert "<code>invalid_request</code>" in page
        acked = stored[purged["couriers"][1]]
        assert acked.resolved_at is not None
        assert when(acked.resolved_at, ZoneInfo("Asia/Shanghai")) in page  # when it answered
        zh = client.get(path, headers={"Accept-Language": "zh-CN"}).text
        assert gettext("zh-CN", "proof.notice.acknowledged") in zh
        # The certificate stays as signed: every notice pending, answers are in the ledger.
        assert client.get(f"{path}/certificate").text == certificate
        _h, claims = sets.peek(certificate)
        assert {c["state"] for c in claims["recipients"]} == {"pending"}
