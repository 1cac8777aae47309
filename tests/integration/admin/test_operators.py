"""Managing operators: the admin's page and ``exitright operator``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from exitright.admin.models import Role
from tests.integration.admin.conftest import PASSWORD, Console, csrf_of


def _cli(*args: str, data_dir: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("EXITRIGHT_")}
    return subprocess.run(
        [sys.executable, "-m", "exitright.cli", "operator", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**base, "EXITRIGHT_DATA_DIR": str(data_dir)},
        cwd=data_dir.parent,
        check=False,
        timeout=120,
        start_new_session=True,  # no controlling terminal: the prompt reads stdin
    )


def test_admin_adds_an_operator_who_can_then_sign_in(console: Console) -> None:
    """The page creates an operator with a role; a weak password is refused with a message."""
    admin = console.sign_in(Role.ADMIN)
    token = csrf_of(admin.get("/admin/operators").text)
    weak = admin.post(
        "/admin/operators?lang=en",
        data={"csrf_token": token, "name": "wang.fang", "role": "operator", "password": "short"},
    )
    assert weak.status_code == 422
    assert "at least 12 characters" in weak.text
    added = admin.post(
        "/admin/operators",
        data={"csrf_token": token, "name": "wang.fang", "role": "operator", "password": PASSWORD},
    )
    assert added.status_code == 303
    client = console.client()
    page = client.get("/admin/sign-in")
    signed = client.post(
        "/admin/sign-in",
        data={"name": "wang.fang", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert signed.status_code == 303
    assert client.get("/admin/operators").status_code == 403  # an operator, not an admin
    taken = admin.post(
        "/admin/operators",
        data={"csrf_token": token, "name": "wang.fang", "role": "viewer", "password": PASSWORD},
    )
    assert taken.status_code == 409


def test_admin_cannot_disable_themself(console: Console) -> None:
    """Disabling one's own account is refused, so the console always keeps an admin."""
    admin = console.sign_in(Role.ADMIN)
    token = csrf_of(admin.get("/admin/operators").text)
    refused = admin.post(
        f"/admin/operators/{console.ids[Role.ADMIN]}/disable", data={"csrf_token": token}
    )
    assert refused.status_code == 409
    assert admin.get("/admin/").status_code == 200


def test_cli_creates_lists_and_disables_operators(tmp_path: Path) -> None:
    """create prompts for the password twice; list shows no hash; disable is one line."""
    data_dir = tmp_path / "var"
    created = _cli("create", "li.lei", "--role", "admin", data_dir=data_dir,
                   stdin=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "created li.lei (admin)" in created.stdout
    scripted = _cli("create", "robot", "--role", "viewer", "--password-stdin",
                    data_dir=data_dir, stdin=PASSWORD + "\n")  # fmt: skip
    assert scripted.returncode == 0, scripted.stderr
    listed = _cli("list", data_dir=data_dir)
    assert listed.returncode == 0
    assert "li.lei\tadmin" in listed.stdout
    assert "robot\tviewer" in listed.stdout
    assert "scrypt" not in listed.stdout
    disabled = _cli("disable", "robot", data_dir=data_dir)
    assert disabled.returncode == 0
    assert "robot\tviewer" in _cli("list", data_dir=data_dir).stdout
    assert "disabled" in _cli("list", data_dir=data_dir).stdout


def test_cli_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    """Unknown role, short password, unknown name: exit ≠ 0 and one line on stderr."""
    data_dir = tmp_path / "var"
    for args, stdin in (
        (("create", "x1", "--role", "root", "--password-stdin"), PASSWORD + "\n"),
        (("create", "x1", "--role", "viewer", "--password-stdin"), "short\n"),
        (("disable", "nobody"), ""),
    ):
        result = _cli(*args, data_dir=data_dir, stdin=stdin)
        assert result.returncode != 0, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert (
        "viewer, operator, admin"
        in _cli(
            "create", "x1", "--role", "root", "--password-stdin", data_dir=data_dir, stdin="x\n"
        ).stderr
    )
