"""The admin console shows delete and correct requests: their kind, their items, never values."""

from __future__ import annotations

from exitright.admin.models import Role
from exitright.cancellation import services
from exitright.cancellation.model import Actor, RequestKind
from exitright.cancellation.ports import Identifiers
from exitright.i18n import gettext
from tests.integration.admin.conftest import (  # noqa: F401  # fixtures used by this test
    Console,
    console,
    console_settings,
)


def test_the_console_lists_and_shows_the_kinds_with_their_scope(
    console: Console,  # noqa: F811  # the fixture imported above
) -> None:
    """Queue and detail name the kind; the detail lists the items and fields, not new values."""
    rt = console.runtime
    phone = console._phones[0]
    opened = {}
    for kind, scope, values in (
        (RequestKind.DELETE, ("platform.search_history",), {}),
        (RequestKind.CORRECT, (), {"platform.users.nickname": "秘密的新昵称"}),
        (RequestKind.ACCESS, (), {}),
    ):
        command = services.OpenRequest(
            kind, Identifiers("phone", phone), Actor.user(), scope=scope, values=values
        )
        opened[kind] = services.submit(command, rt.uow(), rt.ports).record.request.id
    client = console.sign_in(Role.OPERATOR)
    queue = client.get("/admin/", headers={"Accept-Language": "en"}).text
    for kind in ("delete", "correct", "access"):
        assert gettext("en", f"admin.kind.{kind}") in queue
    page = client.get(f"/admin/requests/{opened[RequestKind.DELETE]}").text
    assert "platform.search_history" in page
    page = client.get(f"/admin/requests/{opened[RequestKind.CORRECT]}").text
    assert "platform.users.nickname" in page
    assert "秘密的新昵称" not in page
