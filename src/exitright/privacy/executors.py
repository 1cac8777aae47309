"""The executors of the request kinds besides cancellation, on the data map and its stores.

Each is a ``KindExecutor`` (:mod:`exitright.cancellation.ports`): ``check`` looks at what a
request names when it is submitted, ``run`` does the work once it executes — idempotently, as a
worker may be killed at any point and the next one runs it again. :func:`kind_executors` is what
``bootstrap.build`` wires.

- ``access``: the subject's rows, found through the map's links (:mod:`exitright.privacy.export`),
  zipped as JSON and CSV with their categories, sealed under ``<data_dir>/exports`` until it
  expires (:mod:`exitright.privacy.archives`).
- ``delete``: the chosen items through the erasure engine (:mod:`exitright.privacy.item_deletion`),
  offered when the map declares ``items``.
- ``correct``: the new values of the columns the map marks ``correctable``, checked per category
  at submission, written to exactly the subject's rows (:mod:`exitright.privacy.corrections`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.exc import SQLAlchemyError

from exitright.cancellation.model import RequestKind
from exitright.cancellation.ports import (
    Identifiers,
    KindExecutor,
    KindJob,
    KindOutcome,
    ScopeRejectedError,
)
from exitright.connectors.base import SubjectIds
from exitright.datamap.items import item_tables
from exitright.datamap.model import DataMap
from exitright.erasure import service as erasure
from exitright.erasure.context import ErasureContext
from exitright.privacy.archives import ExportArchives
from exitright.privacy.corrections import CorrectExecutor, correctable_fields
from exitright.privacy.export import archive, collect
from exitright.privacy.item_deletion import DeleteItemsExecutor

__all__ = ["AccessExecutor", "kind_executors", "subject_ids"]

STORE_ERRORS = (SQLAlchemyError, OSError, ConnectionError)


def subject_ids(ctx: ErasureContext, dm: DataMap, identifiers: Identifiers) -> SubjectIds:
    """The subject's identifiers from the account table (as erasure finds them)."""
    ids, _found = erasure.resolve(ctx, dm, erasure.Lookup(identifiers.kind, identifiers.value))
    return ids


class AccessExecutor:
    """``access``: a zip of the subject's rows with their categories, kept encrypted a while."""

    def __init__(self, ctx: ErasureContext, dm: DataMap, archives: ExportArchives) -> None:
        self.ctx = ctx
        self.dm = dm
        self.archives = archives

    def check(
        self,
        kind: RequestKind,
        identifiers: Identifiers,
        scope: Sequence[str],
        values: Mapping[str, str],
    ) -> tuple[str, ...]:
        """An access request is for everything: it names no items and no values."""
        if scope or values:
            raise ScopeRejectedError("an access request takes no scope", kind=kind.value)
        return ()

    def run(self, job: KindJob, worker: str) -> KindOutcome:
        """Collect, zip, seal; a re-run finds the sealed archive and reports it again."""
        header = self.archives.header(job.request_id)
        if header is not None:
            counts = {"tables": int(header.get("tables", 0)), "rows": int(header.get("rows", 0))}
            return KindOutcome("completed", counts, event="export.generated")
        try:
            ids = subject_ids(self.ctx, self.dm, job.identifiers)
            tables = collect(self.dm, ids, self.ctx.engines(self.dm))
        except STORE_ERRORS as exc:
            # Driver messages can quote the statement's values: keep only the error's type.
            return KindOutcome("failed", failure=f"access_failed:{type(exc).__name__}")
        rows = sum(len(t.rows) for t in tables)
        stored = self.archives.put(
            job.request_id, archive(self.dm.platform, tables), tables=len(tables), rows=rows
        )
        counts = {"tables": stored.tables, "rows": stored.rows}
        return KindOutcome("completed", counts, event="export.generated")


def kind_executors(
    ctx: ErasureContext, dm: DataMap, archives: ExportArchives
) -> dict[RequestKind, KindExecutor]:
    """The executor of every kind besides cancellation that this map supports."""
    executors: dict[RequestKind, KindExecutor] = {
        RequestKind.ACCESS: AccessExecutor(ctx, dm, archives)
    }
    if item_tables(dm):
        executors[RequestKind.DELETE] = DeleteItemsExecutor(ctx, dm)
    if correctable_fields(dm):
        executors[RequestKind.CORRECT] = CorrectExecutor(ctx, dm)
    return executors
