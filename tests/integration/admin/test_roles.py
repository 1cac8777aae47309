"""Roles hold on every console route, over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from exitright.admin.models import Role
from tests.integration.admin.conftest import Console, csrf_of

# (method, path, the lowest role allowed); {id} is a submitted request, {op} the viewer's id.
ROUTES = [
    ("GET", "/admin/", Role.VIEWER),
    ("GET", "/admin/requests/{id}", Role.VIEWER),
    ("POST", "/admin/requests/{id}/verify", Role.OPERATOR),
    ("POST", "/admin/requests/{id}/reject", Role.OPERATOR),
    ("GET", "/admin/operators", Role.ADMIN),
    ("POST", "/admin/operators", Role.ADMIN),
    ("POST", "/admin/operators/{op}/disable", Role.ADMIN),
]


def _call(client: httpx.Client, method: str, path: str, token: str) -> httpx.Response:
    if method == "GET":
        return client.get(path)
    # A reason that exists, so an allowed reject really rejects; a name that cannot be taken.
    data = {"csrf_token": token, "reason": "duplicate_request", "name": "x", "role": "viewer"}
    return client.post(path, data=data)


def _path(console: Console, template: str, request_id: str) -> str:
    return template.format(id=request_id, op=console.ids[Role.VIEWER])


@pytest.mark.parametrize(("method", "template", "lowest"), ROUTES)
def test_each_route_refuses_roles_below_its_own(
    console: Console, method: str, template: str, lowest: Role
) -> None:
    """Every role below the route's gets 403; the route's role and above get through."""
    request_id = console.submit()
    for role in Role:
        client = console.sign_in(role)
        token = csrf_of(client.get("/admin/").text)
        response = _call(client, method, _path(console, template, request_id), token)
        if role.includes(lowest):
            # Through the role check: done (303), or refused by the workflow (409, 422).
            assert response.status_code in (200, 303, 409, 422), (role, response.status_code)
        else:
            assert response.status_code == 403, (role, response.status_code)
            assert "admin.error.role" not in response.text  # the message, not its key


@pytest.mark.parametrize(("method", "template", "lowest"), ROUTES)
def test_anonymous_browsers_are_sent_to_sign_in_and_json_clients_get_401(
    console: Console, method: str, template: str, lowest: Role
) -> None:
    """No session: pages redirect to the sign-in form, form posts and JSON get 401."""
    path = _path(console, template, console.submit())
    client = console.client()
    token = csrf_of(client.get("/admin/sign-in").text)
    response = _call(client, method, path, token)
    if method == "GET":
        assert response.status_code == 303
        assert response.headers["location"].startswith("/admin/sign-in?next=")
        assert client.get(response.headers["location"]).status_code == 200
    else:
        assert response.status_code == 401
    api = httpx.get(console.url + path, headers={"Accept": "application/json"})
    if method == "GET":
        assert api.status_code == 401
        assert api.json()["error"]["code"] == "unauthenticated"


def test_viewer_cannot_reject_and_the_request_is_unchanged(console: Console) -> None:
    """A viewer's reject is refused and leaves the request as it was."""
    request_id = console.submit()
    client = console.sign_in(Role.VIEWER)
    page = client.get(f"/admin/requests/{request_id}")
    assert "/reject" not in page.text  # no form offered
    refused = client.post(
        f"/admin/requests/{request_id}/reject",
        data={"csrf_token": csrf_of(page.text), "reason": "duplicate_request"},
    )
    assert refused.status_code == 403
    with console.runtime.uow(readonly=True) as uow:
        record = uow.requests.get(request_id)
    assert record is not None
    assert record.request.state.value == "submitted"


def test_operator_cannot_manage_operators(console: Console) -> None:
    """Operators may act on requests but not add or disable operators."""
    client = console.sign_in(Role.OPERATOR)
    token = csrf_of(client.get("/admin/").text)
    assert client.get("/admin/operators").status_code == 403
    added = client.post(
        "/admin/operators",
        data={"csrf_token": token, "name": "mallory", "role": "admin", "password": "x" * 20},
    )
    assert added.status_code == 403
    disabled = client.post(
        f"/admin/operators/{console.ids[Role.ADMIN]}/disable", data={"csrf_token": token}
    )
    assert disabled.status_code == 403
    assert console.sign_in(Role.ADMIN).get("/admin/").status_code == 200
