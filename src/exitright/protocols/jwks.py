"""Issuers' public keys: fetched from a JWKS URL and cached, or given inline.

A key set is cached for ``ttl``; a SET signed with a ``kid`` the cache does not know triggers
one refetch (at most every ``min_refetch``), so an issuer's key rotation is picked up at once
without letting forged kids hammer the issuer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any, Protocol

import httpx
from joserfc.jwk import KeySet

from exitright.ledger.signing import key_set

__all__ = ["JwksCache", "KeySource", "StaticKeys"]


class KeySource(Protocol):
    """Where an issuer's public keys come from."""

    def keys(self, kid: str | None = None) -> KeySet:
        """The key set, refreshed if ``kid`` is not in it (where the source can refresh)."""
        ...


class StaticKeys:
    """A JWK Set given inline."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self._keys = key_set(dict(document))

    def keys(self, kid: str | None = None) -> KeySet:
        """The inline key set."""
        return self._keys


def _kids(keys: KeySet) -> set[str]:
    return {k.kid for k in keys.keys if k.kid}


class JwksCache:
    """A JWKS URL, fetched on first use and cached."""

    def __init__(
        self,
        url: str,
        *,
        client: httpx.Client | None = None,
        ttl: float = 300.0,
        min_refetch: float = 5.0,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self._client = client
        self._ttl = ttl
        self._min_refetch = min_refetch
        self._timeout = timeout
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._fetched = 0.0

    def _fetch(self) -> KeySet:
        client = self._client or httpx.Client(timeout=self._timeout)
        try:
            response = client.get(self.url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        finally:
            if self._client is None:
                client.close()
        if not isinstance(document, dict):
            raise ValueError("the JWKS is not a JSON object")
        return key_set(document)

    def keys(self, kid: str | None = None) -> KeySet:
        """The cached key set; refetched when stale, or once when ``kid`` is unknown.

        Raises ``httpx.HTTPError`` or ``ValueError`` when the keys cannot be had at all.
        """
        with self._lock:
            now = time.monotonic()
            stale = self._keys is None or now - self._fetched > self._ttl
            unknown = (
                kid is not None
                and self._keys is not None
                and kid not in _kids(self._keys)
                and now - self._fetched > self._min_refetch
            )
            if stale or unknown:
                try:
                    self._keys = self._fetch()
                    self._fetched = now
                except (httpx.HTTPError, ValueError):
                    if self._keys is None:
                        raise
            if self._keys is None:  # pragma: no cover - _fetch either set it or raised
                raise ValueError("no keys")
            return self._keys
