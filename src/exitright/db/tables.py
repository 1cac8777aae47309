"""The engine's tables. Import this module to register every table on ``Base.metadata``."""

from __future__ import annotations

from exitright.admin.models import Operator  # noqa: F401  # registers the admin console tables
from exitright.db.base import Base
from exitright.db.requests import ApiKeyRow, RequestRow
from exitright.erasure.models import ErasurePlan, ErasureStep, ResidueHash
from exitright.identity.models import IdentityChallenge  # noqa: F401  # registers identity tables
from exitright.identity.ratelimit import RateLimitHit  # noqa: F401  # registers rate_limit_hits
from exitright.ledger.models import LedgerEntry, SigningKey
from exitright.protocols.models import OutboxNotice  # noqa: F401  # registers the SET tables
from exitright.vault.models import VaultAccess, VaultKey, VaultRecord

__all__ = [
    "ApiKeyRow",
    "Base",
    "ErasurePlan",
    "ErasureStep",
    "LedgerEntry",
    "RequestRow",
    "ResidueHash",
    "SigningKey",
    "VaultAccess",
    "VaultKey",
    "VaultRecord",
]
