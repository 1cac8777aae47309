"""Asking a carrier whether a number changed hands: the look-up port and a CAMARA adapter.

CAMARA NumberRecycling (an open telco API): ``POST {base}/number-recycling/v0/check`` with
``{"phoneNumber": "+86…", "specifiedDate": "YYYY-MM-DD"}`` answers
``{"phoneNumberRecycled": true|false}`` — whether the subscriber changed after that date.
Every failure (``400 OUT_OF_RANGE``, ``422 MISSING_PHONE_NUMBER`` / ``UNNECESSARY_PHONE_NUMBER``
/ ``NOT_SUPPORTED``, an auth error, a timeout, a malformed answer) is ``unknown`` with the
reason, never an exception: a look-up that cannot answer is no evidence either way.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Protocol

import httpx

from exitright.identity.decision import LookupAnswer

__all__ = ["CamaraNumberRecycling", "LookupAnswer", "LookupResult", "RecyclingLookup"]

log = logging.getLogger("exitright.identity.lookup")
_CODE: Final = re.compile(r"[A-Z][A-Z0-9_.]{0,59}")


@dataclass(frozen=True)
class LookupResult:
    """The answer, and for ``unknown`` why (an error code such as ``OUT_OF_RANGE``)."""

    answer: LookupAnswer
    reason: str | None = None


class RecyclingLookup(Protocol):
    """Something that knows whether a phone number was reissued after a date."""

    def check(self, phone_e164: str, since: date) -> LookupResult:
        """Whether ``phone_e164`` changed subscriber after ``since``."""
        ...


class CamaraNumberRecycling:
    """The CAMARA NumberRecycling ``check`` operation over HTTP."""

    PATH = "/number-recycling/v0/check"

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base = base_url.rstrip("/")
        self.url = base + "/check" if base.endswith("/number-recycling/v0") else base + self.PATH
        self.token = token
        self.timeout = timeout
        self.transport = transport

    def check(self, phone_e164: str, since: date) -> LookupResult:
        """Ask; map every failure onto ``unknown`` with a reason code."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = {"phoneNumber": phone_e164, "specifiedDate": since.isoformat()}
        try:
            with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
                response = client.post(self.url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            return self._unknown(f"UNREACHABLE:{type(exc).__name__}")
        payload = _json(response)
        if response.status_code != 200:
            code = payload.get("code")
            # Only a code-shaped value is kept: whatever else a server sends may echo the number.
            safe = code if isinstance(code, str) and _CODE.fullmatch(code) else "ERROR"
            return self._unknown(f"{response.status_code}:{safe}")
        recycled = payload.get("phoneNumberRecycled")
        if not isinstance(recycled, bool):
            return self._unknown("MALFORMED_RESPONSE")
        return LookupResult(LookupAnswer.RECYCLED if recycled else LookupAnswer.NOT_RECYCLED)

    @staticmethod
    def _unknown(reason: str) -> LookupResult:
        # The reason is an error code from the provider, never the number.
        log.warning("number recycling look-up gave no answer: %s", reason)
        return LookupResult(LookupAnswer.UNKNOWN, reason[:80])


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
