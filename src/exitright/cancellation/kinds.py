"""Use cases of the request kinds besides cancellation that are not lifecycle moves.

Submitting, verifying, advancing and recording an access, delete or correct request are the
same use cases as a cancellation's (:mod:`exitright.cancellation.services`); only the work
differs, and that is the kind's ``KindExecutor`` (:mod:`exitright.cancellation.ports`). What is
left is here: handing a completed access request's export to its owner, ledgered with counts.
"""

from __future__ import annotations

from typing import ClassVar

from exitright.cancellation.errors import DomainError
from exitright.cancellation.journal import load
from exitright.cancellation.model import RequestKind, State
from exitright.cancellation.ports import ExportFile, Ports, UnitOfWork
from exitright.errors import ErrorCode

__all__ = ["EXPORT_DOWNLOADED", "ExportNotReadyError", "download_export", "export_ready"]

EXPORT_DOWNLOADED = "export.downloaded"


class ExportNotReadyError(DomainError):
    """The request has no export to download: not an access request, not done, or expired."""

    code: ClassVar[ErrorCode] = ErrorCode.CONFLICT
    message_id: ClassVar[str] = "kinds.error.export_not_ready"


def export_ready(request_id: str, uow: UnitOfWork, ports: Ports, *, owner: str | None) -> bool:
    """Whether the owner's completed access request has an export to download right now."""
    with uow:
        record = load(uow, request_id, owner)
    request = record.request
    if request.kind is not RequestKind.ACCESS or request.state is not State.COMPLETED:
        return False
    return ports.exports is not None and ports.exports.ready(request_id)


def download_export(
    request_id: str, uow: UnitOfWork, ports: Ports, *, owner: str | None
) -> ExportFile:
    """The export of the owner's completed access request; the ledger records the download
    (tables, rows, bytes — never a value). Raises ExportNotReadyError when there is none."""
    with uow:
        record = load(uow, request_id, owner)
        request = record.request
        found = None
        if request.kind is RequestKind.ACCESS and request.state is State.COMPLETED:
            found = ports.exports.read(request_id) if ports.exports is not None else None
        if found is None:
            raise ExportNotReadyError(
                "no export to download", kind=request.kind.value, state=request.state.value
            )
        uow.ledger.append(
            EXPORT_DOWNLOADED,
            request_id=request_id,
            subject=request.subject_ref,
            data={"tables": found.tables, "rows": found.rows, "bytes": len(found.data)},
        )
        uow.commit()
    return found
