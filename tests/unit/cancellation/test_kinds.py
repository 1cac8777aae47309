"""The kinds besides cancellation on the shared workflow, with fakes: dispatch, ledger, download."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from exitright.cancellation import kinds, services
from exitright.cancellation.commands import VerifyRequest
from exitright.cancellation.model import Actor, RequestKind, State
from exitright.cancellation.ports import (
    EraserBusyError,
    ExportFile,
    Identifiers,
    KindJob,
    KindOutcome,
    RequestNotFoundError,
    ScopeRejectedError,
)
from exitright.clock import FixedClock
from tests.unit.cancellation.test_services import (
    KEY,
    PHONE,
    START,
    FakeEraser,
    FakeUnitOfWork,
    make_ports,
)


@dataclass
class FakeExecutor:
    """Accepts the scope it offers (some of it, when it offers any), answers with a set outcome
    (or raises), and keeps the jobs it ran."""

    offered: frozenset[str] = frozenset({"address:1", "search_history"})
    outcome: KindOutcome = field(
        default_factory=lambda: KindOutcome("completed", {"rows": 3}, event="items.deleted")
    )
    error: BaseException | None = None
    jobs: list[KindJob] = field(default_factory=list)

    def check(
        self,
        kind: RequestKind,
        identifiers: Identifiers,
        scope: Sequence[str],
        values: Mapping[str, str],
    ) -> tuple[str, ...]:
        unknown = [s for s in scope if s not in self.offered]
        if unknown or (self.offered and not scope):
            raise ScopeRejectedError("not offered", kind=kind.value)
        return tuple(sorted(set(scope)))

    def run(self, job: KindJob, worker: str) -> KindOutcome:
        self.jobs.append(job)
        if self.error is not None:
            raise self.error
        return self.outcome


@dataclass
class FakeExports:
    """Exports in a dict, all expiring a week after START."""

    files: dict[str, bytes] = field(default_factory=dict)

    def read(self, request_id: str) -> ExportFile | None:
        data = self.files.get(request_id)
        return ExportFile(data, 2, 5, START + timedelta(days=7)) if data is not None else None

    def ready(self, request_id: str) -> bool:
        return request_id in self.files

    def purge_expired(self) -> int:
        return 0


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def run_to_end(
    uow: FakeUnitOfWork,
    executor: FakeExecutor,
    clock: FixedClock,
    *,
    kind: RequestKind = RequestKind.DELETE,
    scope: tuple[str, ...] = ("search_history", "address:1", "address:1"),
) -> tuple[str, State]:
    ports = make_ports(clock, FakeEraser(), days=7)
    ports.executors = {kind: executor}
    command = services.OpenRequest(kind, PHONE, Actor.api_key(KEY), scope=scope)
    request_id = services.submit(command, uow, ports, owner=KEY).record.request.id
    services.verify(VerifyRequest(request_id, Actor.api_key(KEY)), uow, ports, owner=KEY)
    record = services.advance(services.AdvanceRequest(request_id, "w1"), uow, ports)
    return request_id, record.request.state


def test_a_kind_with_an_executor_is_supported_and_one_without_is_not(clock: FixedClock) -> None:
    """supported_kinds is cancel (an eraser) plus every kind that has an executor."""
    ports = make_ports(clock, FakeEraser())
    assert ports.supported_kinds() == {RequestKind.CANCEL}
    ports.executors = {RequestKind.DELETE: FakeExecutor()}
    assert ports.supported_kinds() == {RequestKind.CANCEL, RequestKind.DELETE}
    with pytest.raises(services.KindNotSupportedError):
        services.submit(
            services.OpenRequest(RequestKind.ACCESS, PHONE, Actor.user()), FakeUnitOfWork(), ports
        )


def test_the_executor_normalizes_the_scope_and_refuses_what_the_map_does_not_offer(
    clock: FixedClock,
) -> None:
    """The stored scope is the executor's; an item it does not offer is a 4xx domain error."""
    uow, executor = FakeUnitOfWork(), FakeExecutor()
    ports = make_ports(clock, FakeEraser())
    ports.executors = {RequestKind.DELETE: executor}
    with pytest.raises(ScopeRejectedError) as refused:
        services.submit(
            services.OpenRequest(RequestKind.DELETE, PHONE, Actor.user(), scope=("orders",)),
            uow,
            ports,
        )
    assert refused.value.to_exitright_error().http_status == 422
    assert uow.commits == 0
    record = services.submit(
        services.OpenRequest(
            RequestKind.DELETE, PHONE, Actor.user(), scope=("search_history", "address:1")
        ),
        uow,
        ports,
    ).record
    assert record.request.scope == ("address:1", "search_history")


def test_a_verified_delete_runs_at_once_without_cooling_off_and_ledgers_its_counts(
    clock: FixedClock,
) -> None:
    """verified → executing → completed in one advance; the event and counts are in the ledger."""
    uow, executor = FakeUnitOfWork(), FakeExecutor()
    request_id, state = run_to_end(uow, executor, clock)
    assert state is State.COMPLETED
    assert [j.scope for j in executor.jobs] == [("address:1", "search_history")]
    assert uow.events(request_id)[-3:] == ["request.execute", "items.deleted", "request.complete"]
    entries = {e[0]: e[3] for e in uow.committed_entries if e[1] == request_id}
    assert entries["items.deleted"] == {"rows": 3}
    assert entries["request.complete"]["delete"] == {"rows": 3}
    stored = uow.committed_rows[request_id]
    assert stored.identifiers is None and stored.values is None and stored.certificate is None


def test_a_failed_execution_is_retried_later_and_a_busy_one_is_looked_at_again(
    clock: FixedClock,
) -> None:
    """A failed outcome fails the request (retried with backoff); busy leaves it executing."""
    uow = FakeUnitOfWork()
    failing = FakeExecutor(outcome=KindOutcome("failed", failure="delete_failed:OperationalError"))
    request_id, state = run_to_end(uow, failing, clock)
    assert state is State.FAILED
    stored = uow.committed_rows[request_id]
    assert stored.request.failure is not None
    assert stored.request.failure.reason == "delete_failed:OperationalError"
    assert stored.next_run_at == START + timedelta(seconds=15)

    busy_uow = FakeUnitOfWork()
    busy = FakeExecutor(error=EraserBusyError("plan"))
    request_id, state = run_to_end(busy_uow, busy, clock)
    assert state is State.EXECUTING
    assert busy_uow.committed_rows[request_id].next_run_at == START + timedelta(
        seconds=services.BUSY_RETRY_SECONDS
    )


def test_a_correction_s_values_reach_the_executor_and_are_dropped_when_it_ends(
    clock: FixedClock,
) -> None:
    """Values are held while the request is open (for the executor) and erased at the end."""
    uow = FakeUnitOfWork()
    executor = FakeExecutor(offered=frozenset({"nickname"}))
    ports = make_ports(clock, FakeEraser())
    ports.executors = {RequestKind.CORRECT: executor}
    command = services.OpenRequest(
        RequestKind.CORRECT, PHONE, Actor.user(), scope=("nickname",), values={"nickname": "新"}
    )
    request_id = services.submit(command, uow, ports).record.request.id
    assert uow.committed_rows[request_id].values == {"nickname": "新"}
    assert all("新" not in str(e) for e in uow.committed_entries)
    services.verify(VerifyRequest(request_id, Actor.system("otp")), uow, ports)
    services.advance(services.AdvanceRequest(request_id, "w1"), uow, ports)
    assert executor.jobs[0].values == {"nickname": "新"}
    assert uow.committed_rows[request_id].values is None


def test_an_export_is_downloaded_only_by_its_owner_and_each_download_is_ledgered(
    clock: FixedClock,
) -> None:
    """download_export: the owner's completed access request; another owner gets not-found."""
    uow = FakeUnitOfWork()
    executor = FakeExecutor(
        offered=frozenset(),
        outcome=KindOutcome("completed", {"tables": 2, "rows": 5}, event="export.generated"),
    )
    ports = make_ports(clock, FakeEraser())
    ports.executors = {RequestKind.ACCESS: executor}
    exports = FakeExports()
    ports.exports = exports
    command = services.OpenRequest(RequestKind.ACCESS, PHONE, Actor.api_key(KEY))
    request_id = services.submit(command, uow, ports, owner=KEY).record.request.id
    with pytest.raises(kinds.ExportNotReadyError):
        kinds.download_export(request_id, uow, ports, owner=KEY)
    services.verify(VerifyRequest(request_id, Actor.api_key(KEY)), uow, ports, owner=KEY)
    services.advance(services.AdvanceRequest(request_id, "w1"), uow, ports)
    exports.files[request_id] = b"zip"
    assert kinds.export_ready(request_id, uow, ports, owner=KEY)
    found = kinds.download_export(request_id, uow, ports, owner=KEY)
    assert found.data == b"zip"
    assert uow.events(request_id)[-1] == kinds.EXPORT_DOWNLOADED
    assert uow.committed_entries[-1][3] == {"tables": 2, "rows": 5, "bytes": 3}
    with pytest.raises(RequestNotFoundError):
        kinds.download_export(request_id, uow, ports, owner="key_b")
    del exports.files[request_id]  # expired and purged
    with pytest.raises(kinds.ExportNotReadyError):
        kinds.download_export(request_id, uow, ports, owner=KEY)
