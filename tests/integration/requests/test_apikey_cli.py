"""``exitright apikey``: the token is printed once, stored hashed, and revocable."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select

from exitright.db.engine import make_engine
from exitright.db.requests import ApiKeyRow
from tests.integration.test_cli import run


def test_create_list_rotate_and_revoke_a_key(tmp_path: Path) -> None:
    """The token works as a hash lookup, list never shows it, revoke marks the key."""
    env = {"EXITRIGHT_DATA_DIR": str(tmp_path / "var")}
    created = run("apikey", "create", "shop", "--scope", "requests:write", "--scope",
                  "requests:read", env=env, cwd=tmp_path)  # fmt: skip
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("er_") and len(token) > 40
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'exitright.db'}")
    try:
        with engine.connect() as conn:
            row = conn.execute(select(ApiKeyRow.id, ApiKeyRow.token_hash, ApiKeyRow.scopes)).one()
    finally:
        engine.dispose()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.scopes == ["requests:write", "requests:read"]

    listed = run("apikey", "list", env=env, cwd=tmp_path)
    assert listed.returncode == 0 and row.id in listed.stdout and token not in listed.stdout

    rotated = run("apikey", "rotate", row.id, env=env, cwd=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.strip().splitlines()[-1] != token

    revoked = run("apikey", "revoke", row.id, env=env, cwd=tmp_path)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    missing = run("apikey", "revoke", "key_nope", env=env, cwd=tmp_path)
    assert missing.returncode != 0 and len(missing.stderr.strip().splitlines()) == 1


def test_an_unknown_scope_is_refused_in_one_line(tmp_path: Path) -> None:
    """Exit ≠ 0 and the allowed scopes named."""
    env = {"EXITRIGHT_DATA_DIR": str(tmp_path / "var")}
    r = run("apikey", "create", "shop", "--scope", "everything", env=env, cwd=tmp_path)
    assert r.returncode != 0
    assert "requests:write" in r.stderr
