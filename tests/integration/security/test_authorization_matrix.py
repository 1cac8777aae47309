"""Who may call what: every route of the app has an entry here, probed over real HTTP.

``MATRIX`` names, for each (method, path) of ``app.routes``, who may call it. A route added
without an entry fails :func:`test_every_route_of_the_app_has_a_matrix_entry`, so nobody ships
an endpoint whose access was never decided. The other tests probe each entry as someone who
must be refused — another subject's browser, another API key, a key without the scope, each
operator role below the one needed — and check the status and that nothing of subject A comes
back.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from exitright.admin.models import Role
from exitright.config import Settings
from tests.conftest import LiveServer
from tests.integration.security.world import World, running_world


@dataclass(frozen=True)
class Public:
    """Anyone, signed in or not (pages, metadata, keys); a public form POST needs its CSRF."""


@dataclass(frozen=True)
class ApiScope:
    """An API key holding ``scope``; a request id in the path must be the key's own."""

    scope: str


@dataclass(frozen=True)
class Console:
    """An operator of the admin console with at least ``role``."""

    role: Role


@dataclass(frozen=True)
class OwnRequest:
    """The browser that verified the request in the privacy centre (and no other)."""


@dataclass(frozen=True)
class ShopUser:
    """A customer signed in to the demo shop (its pages take no ids: only the session's user)."""


@dataclass(frozen=True)
class SignedEvent:
    """A Security Event Token signed by a trusted issuer (RFC 8935 push)."""


@dataclass(frozen=True)
class PollToken:
    """A recipient's poll token (RFC 8936), which is not an API key."""


@dataclass(frozen=True)
class DevOnly:
    """Development only (the console code pages): not found in production."""


Rule = Public | ApiScope | Console | OwnRequest | ShopUser | SignedEvent | PollToken | DevOnly

MATRIX: dict[tuple[str, str], Rule] = {
    ("GET", "/openapi.json"): Public(),
    ("GET", "/docs"): Public(),
    ("GET", "/docs/oauth2-redirect"): Public(),
    ("GET", "/redoc"): Public(),
    ("MOUNT", "/static"): Public(),
    ("GET", "/healthz"): Public(),
    ("GET", "/metrics"): Public(),
    ("GET", "/v1/meta"): Public(),
    ("GET", "/v1/errors"): Public(),
    ("POST", "/v1/requests"): ApiScope("requests:write"),
    ("GET", "/v1/requests"): ApiScope("requests:read"),
    ("GET", "/v1/requests/{request_id}"): ApiScope("requests:read"),
    ("POST", "/v1/requests/{request_id}/verify"): ApiScope("requests:verify"),
    ("POST", "/v1/requests/{request_id}/revoke"): ApiScope("requests:write"),
    ("POST", "/v1/requests/{request_id}/reject"): ApiScope("admin"),
    ("GET", "/v1/requests/{request_id}/certificate"): ApiScope("requests:read"),
    ("GET", "/v1/requests/{request_id}/export"): ApiScope("requests:read"),
    ("GET", "/v1/identifiers/{phone}/status"): ApiScope("requests:read"),
    ("POST", "/v1/identifiers/recycled"): ApiScope("admin"),
    ("GET", "/.well-known/jwks.json"): Public(),
    ("GET", "/.well-known/ssf-configuration"): Public(),
    ("POST", "/v1/events/receive"): SignedEvent(),
    ("MOUNT", "/demo/courier"): SignedEvent(),  # the demo courier: accepts only our SETs
    ("POST", "/v1/events/poll"): PollToken(),
    ("GET", "/"): Public(),
    ("GET", "/certificates/verify"): Public(),
    ("POST", "/certificates/verify"): Public(),
    ("GET", "/privacy"): Public(),
    ("GET", "/.well-known/delete-account"): Public(),
    ("GET", "/privacy/cancel"): Public(),
    ("POST", "/privacy/cancel"): Public(),
    ("GET", "/privacy/access"): Public(),
    ("POST", "/privacy/access"): Public(),
    ("GET", "/privacy/correct"): Public(),
    ("POST", "/privacy/correct"): Public(),
    ("GET", "/privacy/delete"): Public(),
    ("POST", "/privacy/delete"): Public(),
    ("GET", "/privacy/{flow}/verify"): Public(),
    ("POST", "/privacy/{flow}/verify"): Public(),
    ("POST", "/privacy/{flow}/resend"): Public(),
    ("POST", "/privacy/{flow}/abandon"): Public(),
    ("GET", "/privacy/requests/{request_id}"): OwnRequest(),
    ("POST", "/privacy/requests/{request_id}/revoke"): OwnRequest(),
    ("POST", "/privacy/requests/{request_id}/recheck"): OwnRequest(),
    ("GET", "/privacy/requests/{request_id}/certificate"): OwnRequest(),
    ("GET", "/privacy/requests/{request_id}/export"): OwnRequest(),
    ("GET", "/privacy/dev/codes"): DevOnly(),
    ("GET", "/admin/sign-in"): Public(),
    ("POST", "/admin/sign-in"): Public(),
    ("POST", "/admin/sign-out"): Public(),
    ("GET", "/admin/"): Console(Role.VIEWER),
    ("GET", "/admin/requests/{request_id}"): Console(Role.VIEWER),
    ("POST", "/admin/requests/{request_id}/verify"): Console(Role.OPERATOR),
    ("POST", "/admin/requests/{request_id}/reject"): Console(Role.OPERATOR),
    ("POST", "/admin/requests/{request_id}/retry"): Console(Role.OPERATOR),
    ("GET", "/admin/operators"): Console(Role.ADMIN),
    ("POST", "/admin/operators"): Console(Role.ADMIN),
    ("POST", "/admin/operators/{operator_id}/disable"): Console(Role.ADMIN),
    ("GET", "/shop/"): Public(),
    ("GET", "/shop/signin"): Public(),
    ("POST", "/shop/signin"): Public(),
    ("GET", "/shop/signin/code"): Public(),
    ("POST", "/shop/signin/code"): Public(),
    ("GET", "/shop/signin/changed-hands"): Public(),
    ("POST", "/shop/signin/fresh"): Public(),
    ("POST", "/shop/signout"): Public(),
    ("GET", "/shop/orders"): ShopUser(),
    ("GET", "/shop/account"): ShopUser(),
    ("POST", "/shop/orders/{order_no}/{action}"): ShopUser(),
    ("GET", "/shop/dev/codes"): DevOnly(),
}
# Every scope a key may hold; the key that holds only one of them, for "without the scope".
SINGLE_SCOPE_KEYS = {
    "requests:read": "read",
    "requests:write": "write",
    "requests:verify": "verify",
}
MISSING = "req_aaaaaaaaaaaaaaaaaaaaaaaa"  # an id that exists nowhere
STRANGER_PHONE = "13900001111"  # not an account of the demo shop


def app_routes(world: World) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves (HEAD is GET's; a mount is one entry)."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(world.app.routes):
        path = getattr(context, "path", None) or getattr(context.original_route, "path", "")
        methods = getattr(context, "methods", None) or set()
        if not methods:
            found.add(("MOUNT", path))
        found.update((m, path) for m in methods if m != "HEAD")
    return found


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One running world for the whole module (setting it up takes a few seconds)."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("EXITRIGHT_"):
                mp.delenv(name)
        with running_world(tmp_path_factory.mktemp("world")) as running:
            yield running


def entries(kind: type) -> list[tuple[str, str]]:
    """The matrix entries of one kind of rule, as pytest parameters."""
    return [key for key, rule in MATRIX.items() if isinstance(rule, kind)]


def fill(path: str, request_id: str) -> str:
    """The path with its parameters filled (the request id given; harmless others)."""
    return path.format(
        request_id=request_id,
        phone=STRANGER_PHONE,
        operator_id="op_missing",
        flow="cancel",
        order_no="E00000000000000000001",
        action="cancel",
    )


def call(client: httpx.Client, method: str, path: str, **kwargs: object) -> httpx.Response:
    """One call that never follows redirects."""
    return client.request(method, path, follow_redirects=False, **kwargs)  # type: ignore[arg-type]


def assert_refused(world: World, r: httpx.Response, statuses: tuple[int, ...]) -> None:
    """Refused with one of ``statuses``, in the error model for JSON, and nothing of A."""
    assert r.status_code in statuses, (r.request.method, r.request.url.path, r.status_code)
    if r.headers.get("content-type", "").startswith("application/json"):
        assert "error" in r.json() and "code" in r.json()["error"], r.text
    assert not world.leaks(r), (r.request.url.path, world.leaks(r))


# The matrix is complete -------------------------------------------------------------------------


def test_every_route_of_the_app_has_a_matrix_entry(world: World) -> None:
    """A route without an entry (or an entry without a route) fails: access is always decided."""
    served = app_routes(world)
    assert served - MATRIX.keys() == set(), "routes without an authorization decision"
    assert MATRIX.keys() - served == set(), "matrix entries for routes that no longer exist"


# API keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), entries(ApiScope))
def test_an_api_route_refuses_no_key_and_a_key_without_its_scope(
    world: World, method: str, path: str
) -> None:
    """No key or an unknown key: 401; a key holding every scope but the one needed: 403."""
    rule = MATRIX[(method, path)]
    assert isinstance(rule, ApiScope)
    url = fill(path, world.ids["api_a"])
    assert_refused(world, call(world.anonymous, method, url, json={}), (401,))
    bad = {"Authorization": "Bearer er_not-a-key"}
    assert_refused(world, call(world.anonymous, method, url, json={}, headers=bad), (401,))
    for client in (world.consoles[Role.ADMIN], world.browser_a):  # a session is not a key
        assert_refused(world, call(client, method, url, json={}), (401,))
    lacking = [k for s, k in SINGLE_SCOPE_KEYS.items() if s != rule.scope]
    if rule.scope == "admin":
        lacking.append("a")  # every scope of a platform, but not admin
    for key in lacking:
        r = call(world.anonymous, method, url, json={}, headers=world.bearer(key))
        assert_refused(world, r, (403,))
        assert r.json()["error"]["code"] == "forbidden"


# An admin key acts on every key's requests by design (web/auth.py): not probed here.
@pytest.mark.parametrize(
    ("method", "path"),
    [e for e in entries(ApiScope) if "{request_id}" in e[1] and MATRIX[e] != ApiScope("admin")],
)
def test_another_key_gets_404_for_a_request_id_of_key_a(
    world: World, method: str, path: str
) -> None:
    """Key B (holding the scope) on key A's request: 404 like a missing id, nothing of A."""
    rule = MATRIX[(method, path)]
    assert isinstance(rule, ApiScope)
    body = {"reason": "duplicate_request"}
    theirs = call(world.anonymous, method, fill(path, world.ids["api_a"]), json=body,
                  headers=world.bearer("b"))  # fmt: skip
    missing = call(world.anonymous, method, fill(path, MISSING), json=body,
                   headers=world.bearer("b"))  # fmt: skip
    assert_refused(world, theirs, (404,))
    assert theirs.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    own = call(world.anonymous, "GET", f"/v1/requests/{world.ids['api_a']}",
               headers=world.bearer("a"))  # fmt: skip
    assert own.status_code == 200 and own.json()["state"] == "submitted"  # nothing changed


def test_a_key_lists_only_its_own_requests(world: World) -> None:
    """Key B's list holds B's request and none of A's; the admin key sees both."""
    mine = call(world.anonymous, "GET", "/v1/requests", headers=world.bearer("b"))
    assert [i["id"] for i in mine.json()["items"]] == [world.ids["api_b"]]
    assert not world.leaks(mine)
    everyone = call(world.anonymous, "GET", "/v1/requests", headers=world.bearer("admin"))
    listed = {i["id"] for i in everyone.json()["items"]}
    assert {world.ids["api_a"], world.ids["api_b"]} <= listed


# The privacy centre -----------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), entries(OwnRequest))
def test_another_browser_gets_404_for_a_request_of_subject_a(
    world: World, method: str, path: str
) -> None:
    """Browser B (with a request of its own and a valid CSRF token): 404, nothing of A."""
    data = {"csrf_token": _token(world.browser_b)}
    for request_id in (world.ids["page_a"], world.ids["api_a"], MISSING):
        r = call(world.browser_b, method, fill(path, request_id), data=data)
        assert_refused(world, r, (404,))
    admin = world.consoles[Role.ADMIN]  # an operator's session owns no one's privacy pages
    r = call(admin, method, fill(path, world.ids["page_a"]), data={"csrf_token": _token(admin)})
    assert_refused(world, r, (404,))
    anonymous = call(world.anonymous, method, fill(path, world.ids["page_a"]))
    assert_refused(world, anonymous, (403, 404))  # a POST without a session fails on CSRF
    own = call(world.browser_a, "GET", fill("/privacy/requests/{request_id}", world.ids["page_a"]))
    assert own.status_code == 200 and 'data-state="verified"' in own.text  # nothing changed


def test_the_privacy_centre_lists_only_this_browser_s_requests(world: World) -> None:
    """Browser B's centre shows B's request id and not A's."""
    page = call(world.browser_b, "GET", "/privacy")
    assert world.ids["page_b"] in page.text and world.ids["page_a"] not in page.text
    assert not world.leaks(page)


def _token(client: httpx.Client) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/privacy/cancel").text)
    assert found is not None
    return found.group(1)


# The admin console ------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), entries(Console))
def test_each_console_route_refuses_anonymous_callers_and_roles_below_its_own(
    world: World, method: str, path: str
) -> None:
    """Anonymous: sign-in (303 for a page, 401 otherwise); a lower role: 403; an API key: no."""
    rule = MATRIX[(method, path)]
    assert isinstance(rule, Console)
    url = fill(path, world.ids["page_a"])
    anonymous = call(world.anonymous, method, url, headers={"Accept": "text/html"})
    if method == "GET":
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/admin/sign-in")
    else:
        assert_refused(world, anonymous, (401, 403))
    keyed = call(world.anonymous, method, url, headers=world.bearer("admin"))
    assert_refused(world, keyed, (303, 401, 403) if method == "GET" else (401, 403))
    for role, client in world.consoles.items():
        data = {"csrf_token": _console_token(client), "reason": "duplicate_request"}
        if role.includes(rule.role):
            # Allowed through the gate: shown (GET), or a 404 for an id that does not exist
            # (POST), so nothing is changed by this test.
            target = url if method == "GET" else fill(path, MISSING)
            r = call(client, method, target, data=data)
            assert r.status_code not in (401, 403), (role, path, r.status_code)
        else:
            r = call(client, method, url, data=data)
            assert_refused(world, r, (403,))


def _console_token(client: httpx.Client) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/").text)
    assert found is not None
    return found.group(1)


# Everything else --------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), entries(Public))
def test_public_routes_answer_anyone_without_a_5xx_and_without_subject_a(
    world: World, method: str, path: str
) -> None:
    """Anonymous GET: an answer (or a redirect); anonymous form POST without CSRF: 403."""
    url = "/static/style.css" if path == "/static" else fill(path, MISSING)
    if method == "GET" or path == "/static":
        r = call(world.anonymous, "GET", url)
        assert r.status_code < 500, (path, r.status_code)
        assert not world.leaks(r), (path, world.leaks(r))
    else:
        r = call(world.anonymous, method, url, data={"contact": "x", "code": "1"})
        assert_refused(world, r, (403,))


@pytest.mark.parametrize(("method", "path"), entries(ShopUser))
def test_shop_pages_of_a_customer_send_anyone_else_to_sign_in(
    world: World, method: str, path: str
) -> None:
    """Not signed in to the shop (even with a privacy-centre session): to the sign-in page."""
    for client in (world.anonymous, world.browser_a):
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/shop/signin").text)
        assert token is not None
        r = call(client, method, fill(path, MISSING), data={"csrf_token": token.group(1)})
        assert r.status_code == 303 and r.headers["location"] == "/shop/signin"


def test_security_events_need_a_trusted_signature_and_polls_a_poll_token(world: World) -> None:
    """An unsigned SET is 400 (RFC 8935 error body); a poll with an API key or none is 401."""
    unsigned = (
        ".".join(
            base64.urlsafe_b64encode(p).decode().rstrip("=")
            for p in (b'{"alg":"none"}', b'{"iss":"https://evil.example"}')
        )
        + "."
    )
    r = call(
        world.anonymous, "POST", "/v1/events/receive", content=unsigned,
        headers={"Content-Type": "application/secevent+jwt"},
    )  # fmt: skip
    assert r.status_code == 400 and r.json()["err"] in ("invalid_request", "invalid_key",
                                                       "invalid_issuer")  # fmt: skip
    for headers in ({}, world.bearer("admin"), world.bearer("a")):
        polled = call(world.anonymous, "POST", "/v1/events/poll", json={}, headers=headers)
        assert_refused(world, polled, (401,))


@pytest.fixture
def production(settings: Settings) -> Iterator[LiveServer]:
    """A live server with environment=production (keys configured), the demo shop shown."""
    key = base64.b64encode(b"k" * 32).decode()
    configured = settings.model_copy(
        update={
            "environment": "production",
            "secret_key": key,
            "pseudonym_key": key,
            "vault_master_key": key,
            "worker_in_process": False,
        }
    )
    with LiveServer(Settings.model_validate(configured.model_dump())) as server:
        yield server


@pytest.mark.parametrize(("method", "path"), entries(DevOnly))
def test_development_pages_do_not_exist_in_production(
    production: LiveServer, method: str, path: str
) -> None:
    """The pages listing sent codes are 404 in production."""
    r = httpx.request(method, f"{production.url}{path}", follow_redirects=False)
    assert r.status_code == 404
