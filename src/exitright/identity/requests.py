"""The request workflow seen from verification: does a request name this identifier; verify it.

:class:`WorkflowRequestLink` is the :class:`~exitright.identity.service.RequestLink` on the
request use cases of :mod:`exitright.cancellation.services`: a matching code marks the request
verified with ``Actor.system("otp")``, in the workflow's own transaction and ledger.
"""

from __future__ import annotations

import hmac
from typing import Final

from exitright.bootstrap import Runtime
from exitright.cancellation import services
from exitright.cancellation.commands import VerifyRequest
from exitright.cancellation.errors import DomainError
from exitright.cancellation.model import Actor, State
from exitright.cancellation.ports import ConcurrentUpdateError
from exitright.errors import ExitRightError
from exitright.identity.identifiers import Identifier, parse_identifier

__all__ = ["OTP_ACTOR", "WorkflowRequestLink"]

OTP_ACTOR: Final = Actor.system("otp")
_RETRIES: Final = 3


class WorkflowRequestLink:
    """Reads requests and marks them verified through the workflow's use cases."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def identifies(self, request_id: str, identifier: Identifier) -> bool:
        """Whether the request is waiting for verification and names this phone or e-mail."""
        with self.runtime.uow(readonly=True) as uow:
            record = uow.requests.get(request_id)
        if record is None or record.identifiers is None:
            return False
        if record.request.state is not State.SUBMITTED:
            return False
        if record.identifiers.kind != identifier.factor.value:
            return False
        try:
            named = parse_identifier(identifier.factor, record.identifiers.value)
        except ExitRightError:
            return False
        return hmac.compare_digest(named.keyed_form.encode(), identifier.keyed_form.encode())

    def mark_verified(self, request_id: str) -> None:
        """Move the request to verified (retried if a worker touched it at the same moment)."""
        for attempt in range(_RETRIES):
            try:
                services.verify(
                    VerifyRequest(request_id, OTP_ACTOR), self.runtime.uow(), self.runtime.ports
                )
                return
            except ConcurrentUpdateError as exc:
                if attempt == _RETRIES - 1:
                    raise exc.to_exitright_error() from exc
            except DomainError as exc:
                raise exc.to_exitright_error() from exc
