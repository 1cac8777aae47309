"""Loading the deployment's secret keys: from settings, or development key files.

``load_key(settings, "secret" | "pseudonym" | "vault_master")`` returns the key configured as
``EXITRIGHT_<NAME>_KEY`` (base64 of ≥ 32 bytes, or any string of ≥ 32 characters). In production
every key must be configured. In development a missing key is created once as a random file
``<key_dir>/<name>.key`` with mode 0600 and reused afterwards.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from exitright.config import Settings
from exitright.errors import ErrorCode, ExitRightError

__all__ = ["key_id", "load_key"]


def _decode(value: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
        if len(raw) >= 32:
            return raw
    except (binascii.Error, ValueError):
        pass
    return value.encode()


def _key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        # Written whole to a private temporary file, then linked into place: a web process and a
        # worker starting together must never read a half-written (empty) key, and the loser of
        # the race reads the winner's key instead of writing its own.
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(base64.b64encode(secrets.token_bytes(32)).decode())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return _decode(path.read_text(encoding="ascii").strip())


def load_key(settings: Settings, name: str) -> bytes:
    """The key ``name`` (``secret``, ``pseudonym``, ``vault_master``) as at least 32 bytes."""
    field = name if name.endswith("_key") else f"{name}_key"
    configured: SecretStr | None = getattr(settings, field)
    if configured is not None:
        raw = _decode(configured.get_secret_value())
        if len(raw) < 32:
            raise ExitRightError(
                ErrorCode.INVALID_CONFIG, message_id="keys.too_short", params={"name": field}
            )
        return raw
    if settings.environment == "production":
        raise ExitRightError(
            ErrorCode.INVALID_CONFIG,
            message_id="keys.missing",
            params={"name": field, "env": f"EXITRIGHT_{field.upper()}"},
        )
    return _key_file(settings.key_dir / f"{field.removesuffix('_key')}.key")


def key_id(key: bytes) -> str:
    """A non-secret id of a key (tells which master key wrapped a data key)."""
    return hashlib.sha256(b"key-id\x00" + key).hexdigest()[:16]
