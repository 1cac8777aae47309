"""The protocols part of a running deployment: configuration, keys, trusted issuers, handlers.

Built once per process from the settings (:meth:`ProtocolsRuntime.from_settings`) and kept on
the web app's state; :func:`exitright.bootstrap.protocols_runtime` passes the recycled-number
guard and the cancellation starter (:func:`runtime_for` calls it on first use).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from exitright.config import Settings
from exitright.keys import load_key
from exitright.protocols.config import ProtocolsConfig, Transmitter, load_config
from exitright.protocols.push import RetryPolicy
from exitright.protocols.receiver import (
    CancellationStarter,
    Handlers,
    RecycledIdentifierGuard,
    TrustedIssuers,
)

__all__ = ["ProtocolsRuntime", "runtime_for"]

_lock = threading.Lock()


@dataclass(frozen=True)
class ProtocolsRuntime:
    """Everything the SET endpoints and the delivery loop need."""

    config: ProtocolsConfig
    transmitter: Transmitter
    trusted: TrustedIssuers
    handlers: Handlers
    retry: RetryPolicy
    public_url: str
    long_poll_seconds: float = 10.0

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        guard: RecycledIdentifierGuard | None = None,
        starter: CancellationStarter | None = None,
        config: ProtocolsConfig | None = None,
    ) -> ProtocolsRuntime:
        """Read the protocols file and derive the keys from the deployment's."""
        config = config or load_config(settings)
        transmitter = Transmitter.from_keys(
            config.issuer_for(settings),
            load_key(settings, "secret"),
            load_key(settings, "pseudonym"),
        )
        return cls(
            config=config,
            transmitter=transmitter,
            trusted=TrustedIssuers(config.trusted_issuers, our_issuer=transmitter.issuer),
            handlers=Handlers(transmitter.subject_key, guard=guard, starter=starter),
            retry=RetryPolicy.from_settings(config.retry),
            public_url=settings.public_url,
        )


def runtime_for(state: Any) -> ProtocolsRuntime:
    """The app's protocols runtime, built on first use with the ports
    :func:`exitright.bootstrap.protocols_runtime` wires (tests may set their own first)."""
    with _lock:
        existing = getattr(state, "protocols", None)
        if isinstance(existing, ProtocolsRuntime):
            return existing
        from exitright import bootstrap  # bootstrap imports this module: wire at call time

        built = bootstrap.protocols_runtime(state)
        state.protocols = built
        return built
