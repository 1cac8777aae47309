"""Identity verification: one-time codes, channels, and recycled-identifier status.

The public API (imported lazily, so that ``exitright.identity.otp`` — part of the pure core —
never pulls in the database or HTTP libraries):

* :class:`IdentityService` — ``start`` / ``resend`` / ``check`` one-time codes; the call the
  demo's sign-in and the request pages make (build it with :func:`build_service`, or
  :func:`identity_for` in a web app);
* :class:`RecycledGuard` — ``mark_recycled``, ``import_carrier_file``, ``status``, ``guard``,
  ``freeze``, ``lift`` (build it with :func:`build_guard`);
* :func:`parse_identifier` — normalize a phone or e-mail into an :class:`Identifier`.

See docs/identity.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exitright.identity.directory import Account, AccountDirectory, SqlAccountDirectory
    from exitright.identity.identifiers import Identifier, parse_identifier
    from exitright.identity.otp import Channel, Factor
    from exitright.identity.recycled import Decision, RecycledGuard, Source, Verdict
    from exitright.identity.service import (
        Checked,
        CheckStatus,
        IdentityService,
        Purpose,
        Started,
    )
    from exitright.identity.wiring import build_guard, build_service, identity_for

__all__ = [
    "Account",
    "AccountDirectory",
    "Channel",
    "CheckStatus",
    "Checked",
    "Decision",
    "Factor",
    "Identifier",
    "IdentityService",
    "Purpose",
    "RecycledGuard",
    "Source",
    "SqlAccountDirectory",
    "Started",
    "Verdict",
    "build_guard",
    "build_service",
    "identity_for",
    "parse_identifier",
]

_HOME = {
    "Account": "directory",
    "AccountDirectory": "directory",
    "SqlAccountDirectory": "directory",
    "Identifier": "identifiers",
    "parse_identifier": "identifiers",
    "Channel": "otp",
    "Factor": "otp",
    "Decision": "recycled",
    "RecycledGuard": "recycled",
    "Source": "recycled",
    "Verdict": "recycled",
    "CheckStatus": "service",
    "Checked": "service",
    "IdentityService": "service",
    "Purpose": "service",
    "Started": "service",
    "build_guard": "wiring",
    "build_service": "wiring",
    "identity_for": "wiring",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'exitright.identity' has no attribute {name!r}")
    return getattr(import_module(f"exitright.identity.{home}"), name)
