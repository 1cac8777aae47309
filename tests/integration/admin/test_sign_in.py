"""Signing in and out: CSRF, the per-name lock-out, the per-address limit, ended sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exitright.admin import operators
from exitright.admin.models import Role
from exitright.clock import FixedClock
from tests.integration.admin.conftest import PASSWORD, Console, csrf_of


def _try(console: Console, name: str, password: str) -> int:
    client = console.client()
    token = csrf_of(client.get("/admin/sign-in").text)
    response = client.post(
        "/admin/sign-in", data={"name": name, "password": password, "csrf_token": token}
    )
    return response.status_code


def test_sign_in_without_csrf_token_is_refused(console: Console) -> None:
    """A sign-in post without the session's token is 403, even with the right password."""
    client = console.client()
    client.get("/admin/sign-in")
    response = client.post("/admin/sign-in", data={"name": "admin", "password": PASSWORD})
    assert response.status_code == 403
    forged = client.post(
        "/admin/sign-in", data={"name": "admin", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    assert client.get("/admin/").status_code == 303  # still anonymous


def test_action_with_another_sessions_token_is_refused(console: Console) -> None:
    """A token from one operator's session does not work in another's (no cross-site posts)."""
    request_id = console.submit()
    victim = console.sign_in(Role.OPERATOR)
    attacker = console.client()
    foreign = csrf_of(attacker.get("/admin/sign-in").text)
    response = victim.post(
        f"/admin/requests/{request_id}/reject",
        data={"csrf_token": foreign, "reason": "duplicate_request"},
    )
    assert response.status_code == 403
    with console.runtime.uow(readonly=True) as uow:
        record = uow.requests.get(request_id)
    assert record is not None
    assert record.request.state.value == "submitted"


def test_wrong_password_and_unknown_name_get_the_same_answer(console: Console) -> None:
    """401 for both, with the same message: the form does not tell which names exist."""
    client = console.client()
    token = csrf_of(client.get("/admin/sign-in").text)
    known = client.post(
        "/admin/sign-in", data={"name": "admin", "password": "wrong" * 4, "csrf_token": token}
    )
    unknown = client.post(
        "/admin/sign-in", data={"name": "nobody", "password": "wrong" * 4, "csrf_token": token}
    )
    assert known.status_code == unknown.status_code == 401
    assert "admin.error" not in known.text
    assert csrf_of(known.text) == token
    message = known.text.split('role="alert">')[1].split("<")[0]
    assert message == unknown.text.split('role="alert">')[1].split("<")[0]


def test_five_wrong_passwords_lock_the_name_until_the_window_passes(console: Console) -> None:
    """The sixth try is refused even with the right password; 15 minutes later it works."""
    clock = FixedClock(datetime.now(UTC))
    console.runtime.ports.clock = clock
    for _ in range(operators.NAME_LIMIT):
        assert _try(console, "operator", "not the password") == 401
    client = console.client()
    token = csrf_of(client.get("/admin/sign-in").text)
    locked = client.post(
        "/admin/sign-in", data={"name": "operator", "password": PASSWORD, "csrf_token": token}
    )
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert client.get("/admin/").status_code == 303  # not signed in
    # The same lock for an unknown name: the lock-out does not reveal that a name exists.
    for _ in range(operators.NAME_LIMIT):
        assert _try(console, "ghost", "not the password") == 401
    assert _try(console, "ghost", "not the password") == 429
    # Other operators are not affected; the admin sees the lock.
    admin = console.sign_in(Role.ADMIN)
    listing = admin.get("/admin/operators?lang=en").text
    assert "locked until" in listing
    clock.advance(operators.WINDOW + timedelta(seconds=1))
    assert _try(console, "operator", PASSWORD) == 303


def test_one_address_is_limited_across_names(console: Console) -> None:
    """After 20 failures from one address, even a right password from it is refused."""
    for i in range(operators.ADDRESS_LIMIT):
        assert _try(console, f"name{i}", "not the password") == 401
    assert _try(console, "admin", PASSWORD) == 429


def test_sign_out_ends_the_session_even_for_a_copied_cookie(console: Console) -> None:
    """After sign-out, the old cookie (replayed by another client) is anonymous."""
    client = console.sign_in(Role.ADMIN)
    assert client.get("/admin/").status_code == 200
    copied = console.client()
    copied.cookies.update(client.cookies)
    assert copied.get("/admin/").status_code == 200
    token = csrf_of(client.get("/admin/").text)
    out = client.post("/admin/sign-out", data={"csrf_token": token})
    assert out.status_code == 303
    assert client.get("/admin/").status_code == 303
    assert copied.get("/admin/").status_code == 303


def test_disabled_operator_is_signed_out_and_cannot_sign_in(console: Console) -> None:
    """Disabling ends open sessions at once and refuses new sign-ins."""
    viewer = console.sign_in(Role.VIEWER)
    admin = console.sign_in(Role.ADMIN)
    token = csrf_of(admin.get("/admin/operators").text)
    done = admin.post(
        f"/admin/operators/{console.ids[Role.VIEWER]}/disable", data={"csrf_token": token}
    )
    assert done.status_code == 303
    assert viewer.get("/admin/").status_code == 303
    assert _try(console, "viewer", PASSWORD) == 401


def test_sign_in_never_redirects_off_site(console: Console) -> None:
    """``next`` pointing elsewhere lands on the console instead (no open redirect)."""
    client = console.client()
    token = csrf_of(client.get("/admin/sign-in?next=//evil.example/").text)
    response = client.post(
        "/admin/sign-in",
        data={
            "name": "viewer",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/"


def test_a_console_session_ends_after_twelve_hours(console: Console) -> None:
    """The cookie lives longer, but the console asks for the password again after a day's work."""
    clock = FixedClock(datetime.now(UTC))
    console.runtime.ports.clock = clock
    client = console.sign_in(Role.VIEWER)
    clock.advance(timedelta(hours=11))
    assert client.get("/admin/").status_code == 200
    clock.advance(timedelta(hours=1, seconds=1))
    assert client.get("/admin/").status_code == 303
