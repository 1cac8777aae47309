"""Envelope encryption for the vault: AES-256-GCM data keys wrapped by a master key.

The master key sits behind a KMS-shaped port (:class:`KeyWrapper`): ``LocalKeyWrapper`` wraps
with a key from settings or a key file; a cloud KMS adapter can replace it without touching the
vault. Every ciphertext is bound to its context (associated data), so a record copied to another
subject or table no longer decrypts.
"""

from __future__ import annotations

import os
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from exitright.keys import key_id

NONCE_BYTES = 12


class KeyWrapper(Protocol):
    """Wraps and unwraps data keys (the shape of a KMS ``Encrypt``/``Decrypt`` call)."""

    @property
    def key_id(self) -> str:
        """Which master key this is (stored next to each wrapped key)."""
        ...

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        """The data key encrypted under the master key, bound to ``context``."""
        ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """The data key back; raises :class:`DecryptionError` if anything was altered."""
        ...


class DecryptionError(Exception):
    """A ciphertext or wrapped key did not authenticate (wrong key, altered or moved data)."""


class LocalKeyWrapper:
    """A master key held by this process (from settings or a 0600 key file)."""

    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(master_key[:32])
        self._id = key_id(master_key)

    @property
    def key_id(self) -> str:
        """A non-secret id of the master key."""
        return self._id

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        """AES-GCM of the data key; the nonce is stored in front."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """The data key, if the wrapping authenticates under ``context``."""
        try:
            return self._aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], context)
        except InvalidTag as exc:
            raise DecryptionError("wrapped key does not authenticate") from exc


def new_data_key() -> bytes:
    """A fresh random AES-256 key."""
    return AESGCM.generate_key(bit_length=256)


def seal(data_key: bytes, plaintext: bytes, context: bytes) -> tuple[bytes, bytes]:
    """Encrypt ``plaintext``; returns (nonce, ciphertext)."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce, AESGCM(data_key).encrypt(nonce, plaintext, context)


def open_sealed(data_key: bytes, nonce: bytes, ciphertext: bytes, context: bytes) -> bytes:
    """Decrypt what :func:`seal` produced under the same context."""
    try:
        return AESGCM(data_key).decrypt(nonce, ciphertext, context)
    except InvalidTag as exc:
        raise DecryptionError("record does not authenticate") from exc
