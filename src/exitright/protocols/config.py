"""Who we tell and whom we trust: recipients, trusted issuers, and the transmitter's keys.

A recipient is declared in the data map (``recipients:``); how to reach it — push endpoint,
audience, subject format, deadline — comes from the map entry where it has those fields, and
otherwise from the protocols file (``EXITRIGHT_PROTOCOLS_FILE``, default
``<data_dir>/protocols.toml``, see docs/protocols.md)::

    issuer = "https://shop.example"            # optional; default: the public URL

    [recipients.couriers]
    delivery = "push"
    endpoint = "https://courier.example/events"
    subject_format = "opaque"
    ack_deadline_hours = 48

    [[trusted_issuers]]
    issuer = "https://carrier.example"
    jwks_uri = "https://carrier.example/.well-known/jwks.json"

    [[trusted_issuers]]                        # an upstream identity provider
    issuer = "https://id.example"
    jwks_uri = "https://id.example/jwks"
    opens_cancellation = true                  # its account-purged opens a cancellation here
    subject_format = "phone_number"            # how its sub_id names our accounts
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from exitright.config import Settings
from exitright.errors import ErrorCode, ExitRightError
from exitright.keys import load_key
from exitright.ledger.signing import wrapping_key
from exitright.protocols.set import DEFAULT_ALGORITHMS

__all__ = [
    "ProtocolsConfig",
    "RecipientConfig",
    "Transmitter",
    "TrustedIssuer",
    "load_config",
    "recipients_from_map",
]

Delivery = Literal["push", "poll"]
SubjectFormat = Literal["opaque", "phone_number", "email"]
# The fields a data-map recipient entry may carry (whichever of them it has are read).
_MAP_FIELDS = (
    "name",
    "endpoint",
    "audience",
    "delivery",
    "subject_format",
    "ack_deadline_hours",
    "disable_on_cooling_off",
    "push_token_env",
)


class RecipientConfig(BaseModel):
    """How one third party is told: where, as whom, by when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, description="the data map's recipient name")
    delivery: Delivery = Field("push", description="push (RFC 8935) or poll (RFC 8936)")
    endpoint: str | None = Field(None, description="the push endpoint (http or https URL)")
    audience: str | None = Field(
        None, description="the SET's aud; default: the endpoint for push, the name for poll"
    )
    subject_format: SubjectFormat = Field(
        "opaque",
        description="opaque: an id agreed with that recipient (preferred: no personal data in "
        "the SET); phone_number / email: where the recipient knows the subject by nothing else",
    )
    ack_deadline_hours: int = Field(
        72, ge=1, le=24 * 90, description="escalate if not acknowledged within this time"
    )
    disable_on_cooling_off: bool = Field(
        False, description="also send account-disabled when cooling-off starts"
    )
    push_token_env: str | None = Field(
        None, description="an environment variable holding a bearer token for the push endpoint"
    )
    timeout_seconds: float = Field(10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _push_needs_endpoint(self) -> RecipientConfig:
        if self.delivery == "push":
            if not self.endpoint:
                raise ValueError(f"recipient {self.name}: push delivery needs an endpoint")
            if not self.endpoint.startswith(("https://", "http://")):
                raise ValueError(f"recipient {self.name}: endpoint must be an http(s) URL")
        return self

    @property
    def aud(self) -> str:
        """The audience the SETs for this recipient carry."""
        return self.audience or (self.endpoint if self.delivery == "push" else None) or self.name

    @property
    def ack_deadline(self) -> timedelta:
        """How long the recipient has to acknowledge."""
        return timedelta(hours=self.ack_deadline_hours)

    def push_headers(self) -> dict[str, str]:
        """Extra headers for a push: the bearer token, if one is configured and set."""
        if self.push_token_env and os.environ.get(self.push_token_env):
            return {"Authorization": f"Bearer {os.environ[self.push_token_env]}"}
        return {}

    @classmethod
    def from_map(
        cls, recipient: Any, overrides: Mapping[str, Any] | None = None
    ) -> RecipientConfig:
        """Build from a data-map recipient entry (whatever fields it has) plus overrides."""
        values: dict[str, Any] = {}
        for name in _MAP_FIELDS:
            value = getattr(recipient, name, None)
            if value is not None:
                values[name] = value
        values.update(overrides or {})
        return cls.model_validate(values)


class TrustedIssuer(BaseModel):
    """An issuer whose SETs we accept (a carrier, an identity provider)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(min_length=1)
    jwks_uri: str | None = Field(None, description="where its public keys are published")
    jwks: dict[str, Any] | None = Field(None, description="or its JWK Set inline")
    audience: str | None = Field(None, description="the aud it addresses us by; default issuer")
    events: list[str] | None = Field(
        None, description="the event names accepted from it; omitted = every event we handle"
    )
    algorithms: list[str] = Field(default_factory=lambda: list(DEFAULT_ALGORITHMS))
    opens_cancellation: bool = Field(
        False,
        description="an upstream identity provider: its account-purged opens a cancellation of "
        "the same account here (otherwise the event is recorded and has no effect)",
    )
    subject_format: SubjectFormat = Field(
        "opaque",
        description="how its sub_id names our accounts: opaque (our account id, as format "
        "opaque or iss_sub), phone_number or email",
    )

    @model_validator(mode="after")
    def _has_keys(self) -> TrustedIssuer:
        if (self.jwks_uri is None) == (self.jwks is None):
            raise ValueError(f"trusted issuer {self.issuer}: give exactly one of jwks_uri, jwks")
        if "none" in self.algorithms or any(a.startswith("HS") for a in self.algorithms):
            raise ValueError(f"trusted issuer {self.issuer}: only asymmetric algorithms")
        return self


class RetrySettings(BaseModel):
    """Backoff of push retries: exponential from ``base_seconds`` up to ``cap_seconds``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_seconds: float = Field(30, gt=0)
    cap_seconds: float = Field(6 * 3600, gt=0)
    max_attempts: int = Field(40, ge=1)


class ProtocolsConfig(BaseModel):
    """The protocols file: our issuer, recipients' delivery settings, trusted issuers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str | None = None
    recipients: dict[str, dict[str, Any]] = Field(default_factory=dict)
    trusted_issuers: list[TrustedIssuer] = Field(default_factory=list)
    retry: RetrySettings = Field(default_factory=RetrySettings)

    def issuer_for(self, settings: Settings) -> str:
        """Our ``iss``: configured, else the deployment's public URL."""
        return self.issuer or settings.public_url

    def recipient(self, recipient: Any) -> RecipientConfig:
        """The full configuration of a data-map recipient (or of a bare name)."""
        if isinstance(recipient, str):
            return RecipientConfig.model_validate(
                {"name": recipient, **self.recipients.get(recipient, {})}
            )
        return RecipientConfig.from_map(recipient, self.recipients.get(recipient.name))


def config_path(settings: Settings) -> Path:
    """Where the protocols file is read from."""
    configured = os.environ.get("EXITRIGHT_PROTOCOLS_FILE")
    return Path(configured) if configured else settings.data_dir / "protocols.toml"


def load_config(settings: Settings) -> ProtocolsConfig:
    """The protocols file, or an empty configuration when there is none."""
    path = config_path(settings)
    if not path.is_file():
        return ProtocolsConfig()
    try:
        return ProtocolsConfig.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ExitRightError(
            ErrorCode.INVALID_CONFIG,
            message_id="protocols.config_invalid",
            params={"path": str(path)},
            details={"problem": str(exc).splitlines()[0][:200]},
        ) from exc


def recipients_from_map(datamap: Any, config: ProtocolsConfig) -> list[RecipientConfig]:
    """Every recipient of a data map, configured (raises ``ValidationError`` if one is not)."""
    return [config.recipient(r) for r in getattr(datamap, "recipients", [])]


def _derive(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


@dataclass(frozen=True)
class Transmitter:
    """What signing and storing SETs needs: our issuer and keys derived from the deployment's."""

    issuer: str
    signing_wrap: bytes  # unwraps the Ed25519 signing key (ledger.signing)
    body_key: bytes  # AES-256-GCM key of stored SET bodies
    subject_key: bytes  # keyed hashes of incoming subjects (the pseudonym key)

    @classmethod
    def from_keys(cls, issuer: str, secret: bytes, pseudonym_key: bytes) -> Transmitter:
        """Derive every key from the deployment's secret and pseudonym keys."""
        return cls(
            issuer=issuer.rstrip("/"),
            signing_wrap=wrapping_key(secret),
            body_key=_derive(secret, b"exitright security event bodies v1"),
            subject_key=pseudonym_key,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, config: ProtocolsConfig | None = None
    ) -> Transmitter:
        """The deployment's transmitter."""
        config = config or load_config(settings)
        return cls.from_keys(
            config.issuer_for(settings),
            load_key(settings, "secret"),
            load_key(settings, "pseudonym"),
        )
