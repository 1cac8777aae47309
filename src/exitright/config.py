"""Settings, read once from ``EXITRIGHT_*`` environment variables and optional ``exitright.toml``.

Precedence, highest first: explicit arguments, environment variables, the TOML file
(``EXITRIGHT_CONFIG`` or ``./exitright.toml``), defaults. Nothing runs at import time.
Secrets are ``SecretStr`` so they never print; where a key is not configured, the
development default is a key file under ``keys_dir`` created on first use (see ``keys.py``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

Regime = Literal["cn", "gdpr", "ccpa"]


def _config_file() -> Path:
    return Path(os.environ.get("EXITRIGHT_CONFIG", "exitright.toml"))


class Settings(BaseSettings):
    """Everything a deployment can configure."""

    model_config = SettingsConfigDict(
        env_prefix="EXITRIGHT_",
        extra="forbid",
        validate_default=True,
    )

    environment: Literal["development", "production"] = Field(
        "development", description="production refuses development-only conveniences"
    )
    data_dir: Path = Field(Path("var"), description="where SQLite files, keys and uploads live")
    database_url: str = Field(
        "", description="the engine's database; default sqlite:///<data_dir>/exitright.db"
    )
    demo_enabled: bool = Field(True, description="serve the demo platform (shop) next to ExitRight")
    demo_database_url: str = Field(
        "",
        description="the demo platform's database; default sqlite:///<data_dir>/demo-platform.db",
    )
    redis_url: str | None = Field(
        None, description="Redis for the demo platform's sessions and carts"
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    base_url: str = Field("", description="public URL; default http://<host>:<port>")
    default_language: Literal["zh-CN", "en"] = "zh-CN"
    regime: Regime = Field("cn", description="deadline rules: cn, gdpr or ccpa")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    secret_key: SecretStr | None = Field(None, description="signs cookies and CSRF tokens")
    pseudonym_key: SecretStr | None = Field(None, description="HMAC key for subject pseudonyms")
    vault_master_key: SecretStr | None = Field(None, description="wraps the vault's data keys")
    keys_dir: Path | None = Field(None, description="key files; default <data_dir>/keys")
    worker_in_process: bool = Field(True, description="serve also runs one request worker thread")
    cooling_off_days: int = Field(
        7, ge=0, le=30, description="days a cancellation can be withdrawn before erasure starts"
    )
    datamap_path: Path | None = Field(
        None, description="the platform's data map (YAML); default: the demo map when demo is on"
    )
    export_expiry_days: int = Field(
        7, ge=1, le=90, description="days a generated access export can be downloaded"
    )
    # Identity: one-time-code delivery and the recycled-number look-up (docs/identity.md).
    sms_provider: Literal["console", "http"] = Field(
        "console", description="how codes reach phones: console (development) or http (gateway)"
    )
    email_provider: Literal["console", "smtp"] = Field(
        "console", description="how codes reach e-mail addresses: console (development) or smtp"
    )
    sms_gateway_url: str = Field("", description="the HTTP SMS gateway's POST URL")
    sms_gateway_template: str = Field(
        '{"to": "$phone", "text": "$text"}',
        description="the gateway request body; $phone $national $code $minutes $text are filled",
    )
    sms_gateway_content_type: str = Field(
        "application/json", description="Content-Type of the gateway request"
    )
    sms_gateway_auth_header: str = Field(
        "Authorization", description="the header carrying the gateway credential"
    )
    sms_gateway_auth: SecretStr | None = Field(
        None, description="the header's value, e.g. 'Bearer …'"
    )
    smtp_host: str = Field("", description="SMTP server for e-mailed codes")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port")
    smtp_tls: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="starttls, ssl (implicit TLS) or none (loopback relays only)"
    )
    smtp_username: str | None = Field(None, description="SMTP login, if the server needs one")
    smtp_password: SecretStr | None = Field(None, description="SMTP password")
    smtp_from: str = Field("", description="the From address of code e-mails")
    recycling_lookup_url: str = Field(
        "", description="base URL of a CAMARA NumberRecycling API; empty: no look-up"
    )
    recycling_lookup_token: SecretStr | None = Field(
        None, description="bearer token for the recycling look-up"
    )
    # Pre-checks, stale requests, submission limits, official channels (docs/configuration.md).
    pre_checks: list[dict[str, Any]] | None = Field(
        None,
        description="pre-check declarations ([[pre_checks]] in exitright.toml); "
        "default: the demo's when the demo map is used, else none; [] turns them off",
    )
    precheck_recheck_minutes: int = Field(
        15, ge=1, le=1440, description="how often the worker asks a blocked request's checks again"
    )
    verify_within_hours: int = Field(
        24, ge=1, le=720, description="an unverified request is closed (rejected) after this long"
    )
    submit_limit_per_ip: int = Field(
        10, ge=1, le=10000, description="cancellations one client address may submit per window"
    )
    submit_limit_per_identifier: int = Field(
        3, ge=1, le=1000, description="cancellations for one phone or e-mail per window"
    )
    submit_limit_per_key: int = Field(
        600, ge=1, le=1000000, description="requests one API key may submit per window"
    )
    submit_limit_window_minutes: int = Field(
        60, ge=1, le=1440, description="the window of the submission limits"
    )
    official_website: str = Field(
        "", description="the official cancellation web address; default <public URL>/privacy/cancel"
    )
    official_app_name: str = Field(
        "", description="the official app's name; default: the demo shop's name when demo is on"
    )
    official_hotline: str = Field(
        "", description="the official customer-service number, shown as given; empty: none"
    )

    @field_validator("pre_checks")
    @classmethod
    def _lawful_pre_checks(cls, v: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        # Refused at start-up, in one line: a pre-check may never demand a payment, a transfer,
        # a document, a minimum account age or a phone call, and must explain itself in zh-CN
        # and en (its texts are catalog keys requests.precheck.<id>.*).
        if v is not None:
            from exitright.cancellation.errors import PreCheckConfigError
            from exitright.cancellation.prechecks import parse_pre_checks
            from exitright.i18n import LANGUAGES, keys

            try:
                for lang in LANGUAGES:
                    parse_pre_checks(v, catalog_keys=frozenset(keys(lang)))
            except PreCheckConfigError as exc:
                raise ValueError(exc.detail) from None
        return v

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        return v.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then exitright.toml."""
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)

    # Derived values -------------------------------------------------------------------------

    @property
    def engine_url(self) -> str:
        """The engine database URL, defaulting to a SQLite file in data_dir."""
        return self.database_url or f"sqlite:///{self.data_dir / 'exitright.db'}"

    @property
    def demo_url(self) -> str:
        """The demo platform database URL, defaulting to a SQLite file in data_dir."""
        return self.demo_database_url or f"sqlite:///{self.data_dir / 'demo-platform.db'}"

    @property
    def public_url(self) -> str:
        """Where users reach this deployment."""
        return self.base_url or f"http://{self.host}:{self.port}"

    @property
    def key_dir(self) -> Path:
        """The directory holding development key files."""
        return self.keys_dir or self.data_dir / "keys"

    def masked(self) -> dict[str, Any]:
        """The effective settings for display: secrets masked, passwords in URLs hidden."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name] = "********"
            elif isinstance(value, str) and "://" in value:
                out[name] = mask_url(value)
            elif isinstance(value, Path):
                out[name] = str(value)
            else:
                out[name] = value
        out["engine_url (effective)"] = mask_url(self.engine_url)
        out["demo_url (effective)"] = mask_url(self.demo_url)
        out["config file"] = str(_config_file()) if _config_file().exists() else "(none)"
        return out


def mask_url(url: str) -> str:
    """Hide the password in a database or Redis URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user, colon, _ = creds.partition(":")
    return f"{scheme}://{user}{':********' if colon else ''}@{host}"
