"""Security Event Tokens in and out: telling third parties, being told by trusted issuers.

Out: :func:`enqueue_account_purged` / :func:`enqueue_account_disabled` write signed SETs
(RFC 8417, RISC events, SSF profile) to a durable outbox in the caller's transaction;
``push.deliver_due`` pushes them (RFC 8935) with retries that survive restarts, ``poll.poll``
hands them to recipients that poll (RFC 8936). In: ``receiver.receive`` checks SETs from trusted
issuers and dispatches them to handler ports (``upstream`` opens a cancellation for an upstream
identity provider's ``account-purged``). ``reference_receiver`` is what a merchant or courier
runs to accept ours; ``demo_courier`` mounts it in the demo server. See docs/protocols.md.
"""

from __future__ import annotations

from exitright.protocols.config import (
    ProtocolsConfig,
    RecipientConfig,
    Transmitter,
    TrustedIssuer,
    load_config,
    recipients_from_map,
)
from exitright.protocols.notices import Notice, notices_for_request
from exitright.protocols.outbox import (
    MissingSubjectIdError,
    enqueue_account_disabled,
    enqueue_account_enabled,
    enqueue_account_purged,
)
from exitright.protocols.receiver import (
    CancellationStarter,
    RecycledIdentifier,
    RecycledIdentifierGuard,
    UpstreamPurge,
)
from exitright.protocols.set import SecurityEvent, SetError

__all__ = [
    "CancellationStarter",
    "MissingSubjectIdError",
    "Notice",
    "ProtocolsConfig",
    "RecipientConfig",
    "RecycledIdentifier",
    "RecycledIdentifierGuard",
    "SecurityEvent",
    "SetError",
    "Transmitter",
    "TrustedIssuer",
    "UpstreamPurge",
    "enqueue_account_disabled",
    "enqueue_account_enabled",
    "enqueue_account_purged",
    "load_config",
    "notices_for_request",
    "recipients_from_map",
]
