"""Key material: from settings in production, from key files created on first use in development.

Each key has a name (``secret``, ``pseudonym``, ``vault-master`` …) and lives apart from the
others, so that one leaking does not expose the rest. In production every key must be configured
explicitly; a missing one is a configuration error, never a silently generated key.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from exitright.config import Settings
from exitright.errors import ErrorCode, ExitRightError

_SETTING_FOR = {
    "secret": "secret_key",
    "pseudonym": "pseudonym_key",
    "vault-master": "vault_master_key",
}


def decode_key(value: str) -> bytes:
    """Key bytes from a configured value: base64 (urlsafe or standard) or, failing that, UTF-8."""
    text = value.strip()
    for decoder in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            raw = decoder(text + "=" * (-len(text) % 4))
        except ValueError:
            continue
        if len(raw) >= 16:
            return raw
    return text.encode()


def load_key(settings: Settings, name: str, nbytes: int = 32) -> bytes:
    """The key called ``name``: configured in settings, else (development only) a key file."""
    setting = _SETTING_FOR.get(name)
    configured = getattr(settings, setting) if setting else None
    if isinstance(configured, SecretStr):
        return decode_key(configured.get_secret_value())
    if settings.environment == "production":
        raise ExitRightError(
            ErrorCode.INVALID_CONFIG,
            details={"key": name, "setting": f"EXITRIGHT_{(setting or name).upper()}"},
            message_id="error.key_missing",
            params={"key": name},
        )
    return _key_file(settings.key_dir / f"{name}.key", nbytes)


def _key_file(path: Path, nbytes: int) -> bytes:
    """Read a key file, creating it with fresh random bytes (mode 0600) if it does not exist."""
    if path.exists():
        return base64.urlsafe_b64decode(path.read_bytes().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    encoded = base64.urlsafe_b64encode(secrets.token_bytes(nbytes))
    # Write to a private temporary file, then link it into place: two processes starting at
    # once must end up with the same key, so the loser of the race reads the winner's file.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(encoded + b"\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        encoded = path.read_bytes().strip()
    finally:
        tmp.unlink()
    return base64.urlsafe_b64decode(encoded)
