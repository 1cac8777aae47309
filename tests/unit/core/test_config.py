"""Settings come from arguments, EXITRIGHT_* variables and exitright.toml, in that order."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from exitright.config import Settings, mask_url


def test_defaults_are_the_embedded_sqlite_files(settings: Settings) -> None:
    """With nothing configured, both databases are SQLite files under the data dir."""
    assert settings.engine_url.endswith("var/exitright.db")
    assert settings.demo_url.endswith("var/demo-platform.db")
    assert settings.engine_url.startswith("sqlite:///")


def test_environment_variables_override_the_toml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EXITRIGHT_PORT wins over port in exitright.toml, which wins over the default."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exitright.toml").write_text('port = 9001\nregime = "gdpr"\n')
    assert Settings().port == 9001
    assert Settings().regime == "gdpr"
    monkeypatch.setenv("EXITRIGHT_PORT", "9002")
    assert Settings().port == 9002


def test_config_file_location_can_be_chosen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EXITRIGHT_CONFIG points at a TOML file anywhere."""
    cfg = tmp_path / "elsewhere.toml"
    cfg.write_text('database_url = "postgresql+psycopg://u:pw@db/x"\n')
    monkeypatch.setenv("EXITRIGHT_CONFIG", str(cfg))
    assert Settings().engine_url == "postgresql+psycopg://u:pw@db/x"


def test_unknown_or_invalid_settings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad value names the setting instead of being ignored."""
    monkeypatch.setenv("EXITRIGHT_PORT", "not-a-port")
    with pytest.raises(ValidationError, match="port"):
        Settings()


def test_masked_settings_hide_secrets_and_url_passwords(settings: Settings) -> None:
    """config show never prints a key or a database password."""
    s = settings.model_copy(
        update={
            "secret_key": SecretStr("very-secret"),
            "database_url": "postgresql+psycopg://app:hunter2@db:5432/exitright",
        }
    )
    shown = str(s.masked())
    assert "very-secret" not in shown
    assert "hunter2" not in shown
    assert "app:********@db:5432" in shown


def test_mask_url_leaves_urls_without_password_alone() -> None:
    """Only the password part of a URL is masked."""
    assert mask_url("sqlite:///var/x.db") == "sqlite:///var/x.db"
    assert mask_url("redis://user@h:6379/0") == "redis://user@h:6379/0"
    assert mask_url("redis://:pw@h:6379/0") == "redis://:********@h:6379/0"
