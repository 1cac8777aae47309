"""An upstream identity provider purged an account: open a cancellation of it here.

:class:`WorkflowCancellationStarter` implements
:class:`~exitright.protocols.receiver.CancellationStarter` on the request workflow
(:mod:`exitright.cancellation.services`). For a verified ``account-purged`` SET from a trusted
issuer configured with ``opens_cancellation = true`` it

1. names the account from the SET's ``sub_id`` the way that issuer's ``subject_format`` says
   (``opaque`` — our account id, given as format ``opaque`` or ``iss_sub`` — ``phone_number``
   or ``email``); a ``sub_id`` in another format is refused (``invalid_request``);
2. if no account matches, does nothing and answers ``unknown_subject``: the issuer gets the
   same ``202`` as for a known account (RFC 8935 gives a receiver no way to say "not here", and
   a different answer would tell anyone holding a trusted key which accounts exist);
3. otherwise submits a ``cancel`` request through :func:`~exitright.cancellation.services.submit`
   with the actor ``api_key`` ``set:<issuer>`` — the issuer acts as a platform back end would,
   and the timeline and ledger say so — under the idempotency key of the SET's ``jti`` (owner:
   a stable hash of the issuer), so a repeated delivery finds the same request;
4. records the verification as the issuer's (the subject proved control of the account to the
   identity provider when it asked it to delete the account): ``verify`` with the same actor.

From there the request follows the ordinary lifecycle — pre-checks, cooling-off (revocable by
the user, who may not have meant to leave this platform too), erasure, certificate, recipients
told — run by the worker. The outcome recorded with the receipt is ``opened:<request id>``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from exitright.cancellation import services
from exitright.cancellation.commands import VerifyRequest
from exitright.cancellation.errors import DomainError
from exitright.cancellation.model import Actor, RequestKind, State
from exitright.cancellation.ports import Identifiers, Ports, UnitOfWork
from exitright.clock import Clock
from exitright.protocols import set as sets
from exitright.protocols.receiver import UpstreamPurge

__all__ = [
    "UNKNOWN_SUBJECT",
    "Workflow",
    "WorkflowCancellationStarter",
    "issuer_actor",
    "issuer_owner",
    "subject_identifiers",
]

UNKNOWN_SUBJECT: Final = "unknown_subject"
_MAX_KEY: Final = 255  # the requests table's idempotency_key column


class Workflow(Protocol):
    """What the starter needs of the request workflow (``bootstrap.Runtime`` provides it)."""

    @property
    def ports(self) -> Ports:
        """The use cases' ports."""
        ...

    def uow(self, *, readonly: bool = False) -> UnitOfWork:
        """A fresh unit of work."""
        ...

    def subject_exists(self, identifiers: Identifiers) -> bool:
        """Whether an account of the platform is named by ``identifiers``."""
        ...


def issuer_actor(issuer: str) -> Actor:
    """The actor of a request an issuer opened: ``api_key`` ``set:<issuer>`` (no personal data)."""
    return Actor.api_key(f"set:{issuer}"[:200])


def issuer_owner(issuer: str) -> str:
    """The owner of the requests an issuer opened: stable, short (the column holds 64)."""
    digest = hashlib.sha256(issuer.encode()).digest()[:20]
    return "set:" + base64.b32encode(digest).decode("ascii").lower()


def _idempotency_key(jti: str) -> str:
    if len(jti) <= _MAX_KEY:
        return jti
    return "sha256:" + hashlib.sha256(jti.encode()).hexdigest()


def subject_identifiers(subject_format: str, sub_id: Mapping[str, Any]) -> Identifiers:
    """Our account's identifier from the issuer's ``sub_id`` (SetError if it is not usable)."""
    fmt = sub_id.get("format")
    if subject_format == "opaque" and fmt in ("opaque", "iss_sub"):
        value = sub_id.get("id" if fmt == "opaque" else "sub")
        if isinstance(value, str) and value.strip():
            return Identifiers("user_id", value.strip())
    elif subject_format == "phone_number" and fmt == "phone_number":
        value = sub_id.get("phone_number")
        if isinstance(value, str):
            try:
                return Identifiers("phone", sets.e164(value))
            except ValueError:
                raise sets.SetError(
                    "invalid_request", "the phone_number is not in E.164 form"
                ) from None
    elif subject_format == "email" and fmt == "email":
        value = sub_id.get("email")
        if isinstance(value, str) and "@" in value:
            return Identifiers("email", value.strip())
    raise sets.SetError(
        "invalid_request", f"this receiver expects this issuer's subjects as {subject_format}"
    )


class WorkflowCancellationStarter:
    """The ``CancellationStarter`` port on the request workflow's use cases."""

    def __init__(self, workflow: Callable[[], Workflow]) -> None:
        # A factory: the workflow runtime is built on first use, not when the app starts.
        self._workflow = workflow

    def start_cancellation(self, clock: Clock, notice: UpstreamPurge) -> str:
        """Open (or find) the cancellation the SET asks for, verified by the issuer.

        A use case's refusal comes back as the project's error model (no receipt is kept, so the
        issuer's retry runs it again).
        """
        try:
            return self._start(notice)
        except DomainError as exc:
            raise exc.to_exitright_error() from exc

    def _start(self, notice: UpstreamPurge) -> str:
        identifiers = subject_identifiers(notice.subject_format, notice.sub_id)
        wf = self._workflow()
        if not wf.subject_exists(identifiers):
            return UNKNOWN_SUBJECT
        actor = issuer_actor(notice.issuer)
        command = services.OpenRequest(
            kind=RequestKind.CANCEL,
            identifiers=identifiers,
            actor=actor,
            idempotency_key=_idempotency_key(notice.jti),
        )
        owner = issuer_owner(notice.issuer)
        opened = services.submit(command, wf.uow(), wf.ports, owner=owner)
        request_id = opened.record.request.id
        if opened.record.request.state is State.SUBMITTED:
            try:
                services.verify(VerifyRequest(request_id, actor), wf.uow(), wf.ports, owner=owner)
            except DomainError:
                # Another delivery of the same SET verified it at the same moment.
                record = services.get_request(request_id, wf.uow(readonly=True), owner=owner)
                if record.request.state is State.SUBMITTED:
                    raise
        return f"opened:{request_id}"
