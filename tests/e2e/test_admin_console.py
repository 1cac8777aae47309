"""An operator signs in to the admin console in a real browser and rejects a request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from exitright.admin.models import Role
from exitright.cancellation.model import ActorKind, State
from tests.integration.admin.conftest import (  # noqa: F401  # fixtures used by this test
    PASSWORD,
    Console,
    console,
    console_settings,
)


@pytest.fixture
def engine_url(tmp_path: Path) -> str:
    """SQLite only: the browser path is the same on every database."""
    return f"sqlite:///{tmp_path / 'engine.db'}"


@pytest.mark.browser
def test_operator_signs_in_and_rejects_a_request_with_a_reason(
    console: Console,  # noqa: F811  # the fixture imported above
    browser_page: Any,
) -> None:
    """Sign-in form, queue, request page, reason and note, then the rejection on the timeline."""
    request_id = console.submit()
    page = browser_page
    page.goto(f"{console.url}/admin/?lang=en")
    page.wait_for_url("**/admin/sign-in?next=*")
    page.get_by_label("Name").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/?lang=en")
    assert page.get_by_role("heading", name="Health").is_visible()
    page.get_by_role("link", name=request_id).click()
    page.wait_for_url(f"**/admin/requests/{request_id}")
    page.get_by_label("Reason").select_option("identity_not_verified")
    page.get_by_label("Note for the record (optional)").fill("no answer to three calls")
    page.get_by_role("button", name="Reject the request").click()
    page.wait_for_url(f"**/admin/requests/{request_id}?done=rejected")
    assert page.get_by_role("status").is_visible()
    assert page.locator("#state").inner_text() == "Rejected"
    timeline = page.locator("#timeline").inner_text()
    assert "operator" in timeline
    assert "identity_not_verified" in timeline
    assert "no answer to three calls" in timeline
    with console.runtime.uow(readonly=True) as uow:
        record = uow.requests.get(request_id)
    assert record is not None
    assert record.request.state is State.REJECTED
    assert record.request.history[-1].actor.kind is ActorKind.OPERATOR
    assert record.request.history[-1].actor.id == console.ids[Role.OPERATOR]
