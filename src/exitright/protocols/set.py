"""Security Event Tokens (RFC 8417) as the Shared Signals Framework profiles them: build, verify.

A SET here is a compact JWS with header ``typ: secevent+jwt``, claims ``iss``, ``iat``,
``jti``, ``aud``, optional ``txn``, the subject as ``sub_id`` (RFC 9493), and ``events``
holding exactly one RISC event URI → its payload. SSF forbids ``sub`` and ``exp``; so do we,
both ways. Verification failures raise :class:`SetError` carrying the RFC 8935 ``err`` code a
receiver answers with. Pure apart from the signature maths: no I/O, no clock.
"""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import KeySet, OKPKey

from exitright.ledger.signing import ACCEPTED_ALGORITHMS, ALGORITHM
from exitright.pii.detect import normalize_phone

__all__ = [
    "MEDIA_TYPE",
    "RISC",
    "TYP",
    "ErrCode",
    "SecurityEvent",
    "SetError",
    "build_claims",
    "event_name",
    "event_uri",
    "peek",
    "sign",
    "subject_id",
    "verify",
]

TYP: Final = "secevent+jwt"
MEDIA_TYPE: Final = "application/secevent+jwt"
RISC: Final = "https://schemas.openid.net/secevent/risc/event-type/"
RISC_EVENTS: Final = frozenset(
    {
        "account-credential-change-required",
        "account-purged",
        "account-disabled",
        "account-enabled",
        "identifier-changed",
        "identifier-recycled",
        "credential-compromise",
        "opt-in",
        "opt-out-initiated",
        "opt-out-cancelled",
        "opt-out-effective",
        "recovery-activated",
        "recovery-information-changed",
    }
)
# Algorithms a trusted issuer may sign with; "none" and symmetric ones never.
DEFAULT_ALGORITHMS: Final = (*ACCEPTED_ALGORITHMS, "ES256", "RS256", "PS256")

ErrCode = Literal[
    "invalid_request",
    "invalid_key",
    "invalid_issuer",
    "invalid_audience",
    "authentication_failed",
    "access_denied",
]
ERR_CODES: Final[frozenset[str]] = frozenset(
    {
        "invalid_request",
        "invalid_key",
        "invalid_issuer",
        "invalid_audience",
        "authentication_failed",
        "access_denied",
    }
)
SubjectFormat = Literal["opaque", "phone_number", "email", "iss_sub"]
# RFC 9493 §3: the members each format requires.
_FORMAT_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = {
    "account": ("uri",),
    "email": ("email",),
    "iss_sub": ("iss", "sub"),
    "opaque": ("id",),
    "phone_number": ("phone_number",),
    "did": ("url",),
    "uri": ("uri",),
    "aliases": ("identifiers",),
}


class SetError(ValueError):
    """A SET refused, with the RFC 8935 error code and a description (never the token)."""

    def __init__(self, err: ErrCode, description: str) -> None:
        super().__init__(f"{err}: {description}")
        self.err: ErrCode = err
        self.description = description

    def body(self) -> dict[str, str]:
        """The RFC 8935 §2.3 error body: ``{"err": …, "description": …}``."""
        return {"err": self.err, "description": self.description}


@dataclass(frozen=True)
class SecurityEvent:
    """A verified SET: its claims, split into what receivers act on."""

    issuer: str
    jti: str
    iat: int
    audience: tuple[str, ...]
    event_type: str  # the full event URI
    payload: Mapping[str, Any]
    sub_id: Mapping[str, Any] | None
    txn: str | None = None
    kid: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The short RISC name (``account-purged``), or the URI for other event types."""
        return event_name(self.event_type)


def event_uri(name: str) -> str:
    """The event type URI of a RISC event name (a full URI is returned unchanged)."""
    if name.startswith(("https://", "http://", "urn:")):
        return name
    if name not in RISC_EVENTS:
        raise ValueError(f"not a RISC event type: {name}")
    return RISC + name


def event_name(uri: str) -> str:
    """The short name of a RISC event URI; any other URI unchanged."""
    return uri.removeprefix(RISC) if uri.startswith(RISC) else uri


def subject_id(fmt: SubjectFormat, value: str, *, issuer: str | None = None) -> dict[str, str]:
    """An RFC 9493 subject identifier: opaque id, E.164 phone number, e-mail, or iss_sub."""
    if not value:
        raise ValueError("a subject identifier needs a value")
    if fmt == "opaque":
        return {"format": "opaque", "id": value}
    if fmt == "email":
        return {"format": "email", "email": value.strip()}
    if fmt == "phone_number":
        return {"format": "phone_number", "phone_number": e164(value)}
    if issuer is None:
        raise ValueError("iss_sub needs the issuer")
    return {"format": "iss_sub", "iss": issuer, "sub": value}


def e164(phone: str) -> str:
    """A phone number in E.164 (``+8613800138000``); a Chinese mobile may be given bare."""
    text = phone.strip().replace(" ", "").replace("-", "")
    mobile = normalize_phone(text)
    if mobile is not None:
        return "+86" + mobile
    if text.startswith("+") and text[1:].isdigit() and 8 <= len(text) <= 16:
        return text
    raise ValueError("not a phone number in E.164 form")


def build_claims(
    *,
    issuer: str,
    audience: str | Sequence[str],
    event: str,
    sub_id: Mapping[str, Any],
    jti: str,
    iat: int,
    txn: str | None = None,
    payload: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The claims of one SET per RFC 8417 and SSF: one event, ``sub_id``, no ``sub``/``exp``."""
    _check_sub_id(sub_id)
    claims: dict[str, Any] = {
        "iss": issuer,
        "iat": int(iat),
        "jti": jti,
        "aud": audience if isinstance(audience, str) else list(audience),
        "sub_id": dict(sub_id),
        "events": {event_uri(event): dict(payload or {})},
    }
    if txn is not None:
        claims["txn"] = txn
    return claims


def sign(claims: Mapping[str, Any], key: OKPKey) -> str:
    """Sign ``claims`` into a compact SET with our Ed25519 key (``kid`` in the header)."""
    header = {"alg": ALGORITHM, "typ": TYP, "kid": key.kid}
    payload = json.dumps(dict(claims), separators=(",", ":"), ensure_ascii=False).encode()
    return jws.serialize_compact(header, payload, key, algorithms=[ALGORITHM])


def _b64json(part: str) -> Any:
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of ``token`` *without* checking its signature (to find the issuer).

    Raises :class:`SetError` (``invalid_request``) if it is not a compact JWS of JSON objects.
    """
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise SetError("invalid_request", "not a compact JWS (three dot-separated parts)")
    try:
        header, claims = _b64json(parts[0]), _b64json(parts[1])
    except (ValueError, UnicodeDecodeError) as exc:
        raise SetError("invalid_request", "the header or payload is not base64url JSON") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise SetError("invalid_request", "the header and payload must be JSON objects")
    return header, claims


def verify(
    token: str,
    keys: KeySet,
    *,
    issuer: str,
    audience: str | Sequence[str],
    algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
) -> SecurityEvent:
    """Check a SET: typ, issuer, signature, audience, then the claims' shape per RFC 8417/SSF.

    ``audience`` is what we answer to (any one of several). Raises :class:`SetError` with
    ``invalid_request``, ``invalid_issuer``, ``invalid_key`` or ``invalid_audience``.
    """
    header, unverified = peek(token)
    typ = str(header.get("typ", "")).lower().removeprefix("application/")
    if typ != TYP:
        raise SetError("invalid_request", f"header typ must be {TYP}")
    if unverified.get("iss") != issuer:
        raise SetError("invalid_issuer", "the issuer is not the one expected")
    if header.get("alg") not in algorithms:
        raise SetError("invalid_key", "the signing algorithm is not accepted")
    try:
        with warnings.catch_warnings():
            # joserfc warns that "EdDSA" is deprecated (RFC 9864); we accept it on purpose.
            warnings.simplefilter("ignore", SecurityWarning)
            obj = jws.deserialize_compact(token.strip(), keys, algorithms=list(algorithms))
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise SetError("invalid_key", "the signature does not verify with the issuer's keys") from (
            exc
        )
    try:
        claims = json.loads(obj.payload)
    except (ValueError, UnicodeDecodeError) as exc:  # pragma: no cover - peek already parsed it
        raise SetError("invalid_request", "the payload is not JSON") from exc
    aud = claims.get("aud")
    auds = (aud,) if isinstance(aud, str) else tuple(a for a in aud or () if isinstance(a, str))
    wanted = (audience,) if isinstance(audience, str) else tuple(audience)
    if not set(auds) & set(wanted):
        raise SetError("invalid_audience", "the SET is not addressed to this receiver")
    return _event(claims, auds, header.get("kid"))


def _event(claims: Mapping[str, Any], auds: tuple[str, ...], kid: Any) -> SecurityEvent:
    for forbidden in ("sub", "exp"):
        if forbidden in claims:
            raise SetError("invalid_request", f"a SET must not carry the {forbidden} claim")
    jti, iat, iss = claims.get("jti"), claims.get("iat"), claims.get("iss")
    if not isinstance(jti, str) or not jti or len(jti) > 200:
        raise SetError("invalid_request", "jti must be a non-empty string")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise SetError("invalid_request", "iat must be a NumericDate (integer)")
    events = claims.get("events")
    if not isinstance(events, dict) or len(events) != 1:
        raise SetError("invalid_request", "events must hold exactly one event")
    ((uri, payload),) = events.items()
    if not isinstance(payload, dict):
        raise SetError("invalid_request", "the event payload must be a JSON object")
    # SSF puts the subject in the top-level sub_id; older RISC events carry it in the payload.
    sub_id = claims.get("sub_id", payload.get("subject"))
    if sub_id is not None:
        _check_sub_id(sub_id)
    txn = claims.get("txn")
    return SecurityEvent(
        issuer=str(iss),
        jti=jti,
        iat=iat,
        audience=auds,
        event_type=str(uri),
        payload=payload,
        sub_id=sub_id,
        txn=txn if isinstance(txn, str) else None,
        kid=kid if isinstance(kid, str) else None,
        claims=dict(claims),
    )


def _check_sub_id(sub_id: Any) -> None:
    if not isinstance(sub_id, Mapping):
        raise SetError("invalid_request", "sub_id must be a JSON object")
    fmt = sub_id.get("format")
    if not isinstance(fmt, str):
        raise SetError("invalid_request", "sub_id needs a format (RFC 9493)")
    for member in _FORMAT_MEMBERS.get(fmt, ()):
        if member not in sub_id:
            raise SetError("invalid_request", f"sub_id of format {fmt} needs {member}")
