"""A plan's identifiers at rest: sealed with AES-GCM while the plan is open, gone when it ends.

``erasure_plans.identifiers`` (a JSON column) holds ``{"v": 1, "sealed": base64(nonce ‖ ct)}``:
the subject's identifiers and the pinned keys of reverse-linked tables, encrypted under a key
derived (HKDF) from the pseudonym key and bound to the plan id, so a row copied to another plan
does not open. Completion writes NULL over it (keyed hashes stay for the residual sweep). Plans
written before sealing hold the identifiers as plain JSON; they still open, and are sealed the
next time the plan is written.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from exitright.connectors.base import SubjectIds
from exitright.errors import ErrorCode, ExitRightError

INFO = b"exitright erasure plan identifiers v1"
VERSION = 1


@dataclass
class PlanSecrets:
    """What an open plan must know and nobody else may read: identifiers and pinned keys."""

    ids: SubjectIds
    # store → table → keys captured before anything changed (datamap/graph.py, reverse links)
    pins: dict[str, dict[str, list[Any]]] = field(default_factory=dict)


class PlanSealer:
    """Seals and opens a plan's secrets (AES-GCM, key derived from the pseudonym key)."""

    def __init__(self, pseudonym_key: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(pseudonym_key)
        self._aead = AESGCM(key)

    def seal(self, plan_id: str, secrets: PlanSecrets) -> dict[str, Any]:
        """The value for the ``identifiers`` column."""
        plain = json.dumps(
            {"ids": secrets.ids.to_json(), "pins": secrets.pins}, sort_keys=True, default=str
        ).encode()
        nonce = os.urandom(12)
        blob = nonce + self._aead.encrypt(nonce, plain, plan_id.encode())
        return {"v": VERSION, "sealed": base64.b64encode(blob).decode()}

    def open(self, plan_id: str, stored: dict[str, Any] | None) -> PlanSecrets:
        """The secrets of plan ``plan_id`` (empty once the plan ended; plain JSON if legacy)."""
        if not stored:
            return PlanSecrets(SubjectIds())
        if "sealed" not in stored:
            return PlanSecrets(SubjectIds.from_json(stored))
        try:
            blob = base64.b64decode(stored["sealed"])
            data = json.loads(self._aead.decrypt(blob[:12], blob[12:], plan_id.encode()))
        except (InvalidTag, ValueError) as exc:
            # Another key, or a row copied from another plan: the message names neither.
            raise ExitRightError(
                ErrorCode.INVALID_CONFIG,
                details={"plan": plan_id},
                message_id="erasure.plan_unreadable",
                params={"plan": plan_id},
            ) from exc
        return PlanSecrets(SubjectIds.from_json(data.get("ids")), dict(data.get("pins") or {}))
