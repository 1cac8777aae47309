"""The request use cases with fakes: submit, verify, revoke, reject, advance, certificates."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exitright.cancellation import services
from exitright.cancellation.commands import (
    RejectRequest,
    RetryRequest,
    RevokeRequest,
    VerifyRequest,
)
from exitright.cancellation.cooling_off import CoolingOffPolicy
from exitright.cancellation.deadlines import Regime, deadline_policy
from exitright.cancellation.errors import ActorNotAllowedError, IllegalTransitionError
from exitright.cancellation.model import Actor, RequestKind, State
from exitright.cancellation.outcomes import RejectionReason
from exitright.cancellation.ports import (
    ConcurrentUpdateError,
    EraserBusyError,
    ErasureOutcome,
    Identifiers,
    Page,
    Ports,
    RequestNotFoundError,
    RequestRecord,
    RetryPolicy,
    TableCounts,
)
from exitright.clock import FixedClock
from exitright.errors import ErrorCode, ExitRightError
from exitright.i18n import catalog

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday with official calendar data
PHONE = Identifiers("phone", "13800138000")
KEY = "key_a"


# Fakes ------------------------------------------------------------------------------------------


class FakeRepository:
    """Records in a dict, with the same optimistic locking as the SQL one."""

    def __init__(self, rows: dict[str, RequestRecord]) -> None:
        self.rows = rows

    def add(self, record: RequestRecord) -> None:
        record.row_version = 1
        self.rows[record.request.id] = copy.deepcopy(record)

    def get(self, request_id: str) -> RequestRecord | None:
        row = self.rows.get(request_id)
        return copy.deepcopy(row) if row else None

    def by_idempotency_key(self, owner: str, key: str) -> RequestRecord | None:
        for row in self.rows.values():
            if row.owner == owner and row.idempotency_key == key:
                return copy.deepcopy(row)
        return None

    def save(self, record: RequestRecord) -> None:
        stored = self.rows[record.request.id]
        if stored.row_version != record.row_version:
            raise ConcurrentUpdateError("stale", request_id=record.request.id)
        record.row_version += 1
        self.rows[record.request.id] = copy.deepcopy(record)

    def list(self, *, owner: str | None, cursor: str | None, limit: int) -> Page:
        rows = [r for r in self.rows.values() if owner is None or r.owner == owner]
        return Page(rows[:limit], None)


class FakeLedger:
    """Entries as tuples; the hash is the entry's position."""

    def __init__(self, entries: list[tuple[str, str, str, dict[str, Any]]]) -> None:
        self.entries = entries

    def append(self, event: str, *, request_id: str, subject: str, data: Mapping[str, Any]) -> str:
        self.entries.append((event, request_id, subject, dict(data)))
        return f"hash{len(self.entries)}"


class FakeSigner:
    """'Signs' by writing the claims as JSON."""

    def sign(self, claims: Mapping[str, Any]) -> str:
        return json.dumps(dict(claims), sort_keys=True)


class FakeUnitOfWork:
    """Changes become visible on commit; leaving without commit drops them."""

    def __init__(self) -> None:
        self.committed_rows: dict[str, RequestRecord] = {}
        self.committed_entries: list[tuple[str, str, str, dict[str, Any]]] = []
        self.signer = FakeSigner()
        self.commits = 0

    def __enter__(self) -> FakeUnitOfWork:
        self.requests = FakeRepository(copy.deepcopy(self.committed_rows))
        self.ledger = FakeLedger(list(self.committed_entries))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def commit(self) -> None:
        self.committed_rows = self.requests.rows
        self.committed_entries = self.ledger.entries
        self.commits += 1

    def events(self, request_id: str) -> list[str]:
        return [e[0] for e in self.committed_entries if e[1] == request_id]


@dataclass
class FakeEraser:
    """An erasure engine that answers with a set outcome (or raises) and counts its runs."""

    outcome: ErasureOutcome = field(
        default_factory=lambda: ErasureOutcome(
            "completed",
            tables=(
                TableCounts("platform", "users", {"deleted": 1}),
                TableCounts("platform", "orders", {"retained": 2}, "cn-ecl-31", "2029-03-02"),
            ),
        )
    )
    error: BaseException | None = None
    runs: int = 0
    plans: dict[str, str] = field(default_factory=dict)
    during_run: Callable[[], None] | None = None

    def subject_ref(self, identifiers: Identifiers) -> str:
        return "sp_" + str(abs(hash(identifiers.value)) % 10**6).rjust(6, "a")

    def plan(self, request_id: str, identifiers: Identifiers) -> str:
        return self.plans.setdefault(request_id, f"plan-{len(self.plans) + 1}")

    def run(self, plan_id: str, worker: str) -> ErasureOutcome:
        self.runs += 1
        if self.during_run is not None:
            hook, self.during_run = self.during_run, None
            hook()
        if self.error is not None:
            raise self.error
        return self.outcome


def make_ports(clock: FixedClock, eraser: FakeEraser, days: int = 0) -> Ports:
    regimes = {r: deadline_policy(r.value) for r in Regime}
    return Ports(
        clock=clock,
        eraser=eraser,
        deadlines=regimes,
        default_regime=Regime.CN,
        cooling_off=CoolingOffPolicy(days),
        retry=RetryPolicy(base=timedelta(seconds=30), cap=timedelta(hours=1)),
        issuer="https://exitright.test",
        jitter=lambda: 0.0,
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def eraser() -> FakeEraser:
    return FakeEraser()


def open_request(uow: FakeUnitOfWork, ports: Ports, key: str | None = "idem-1") -> str:
    command = services.OpenRequest(
        RequestKind.CANCEL, PHONE, Actor.api_key(KEY), idempotency_key=key
    )
    return services.submit(command, uow, ports, owner=KEY).record.request.id


def verified_request(uow: FakeUnitOfWork, ports: Ports) -> str:
    request_id = open_request(uow, ports)
    services.verify(VerifyRequest(request_id, Actor.api_key(KEY)), uow, ports, owner=KEY)
    return request_id


def advance(uow: FakeUnitOfWork, ports: Ports, request_id: str) -> RequestRecord:
    return services.advance(services.AdvanceRequest(request_id, "w1"), uow, ports)


# Submit -----------------------------------------------------------------------------------------


def test_submit_stores_the_request_and_a_ledger_entry_without_identifiers(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """The entry names the pseudonym and the state; the phone number is nowhere in it."""
    ports = make_ports(clock, eraser)
    request_id = open_request(uow, ports)
    record = uow.committed_rows[request_id]
    assert record.request.state is State.SUBMITTED
    assert record.identifiers == PHONE
    assert record.next_run_at is None  # nothing for the worker until it is verified
    [(event, rid, subject, data)] = uow.committed_entries
    assert (event, rid) == ("request.submit", request_id)
    assert subject == record.request.subject_ref
    assert data["state"] == "submitted" and data["kind"] == "cancel"
    assert PHONE.value not in json.dumps(uow.committed_entries)


def test_repeating_a_submission_with_its_idempotency_key_returns_the_first_request(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """Same key, same body: the same request, and nothing new is stored."""
    ports = make_ports(clock, eraser)
    first = open_request(uow, ports)
    command = services.OpenRequest(
        RequestKind.CANCEL, PHONE, Actor.api_key(KEY), idempotency_key="idem-1"
    )
    again = services.submit(command, uow, ports, owner=KEY)
    assert again.created is False and again.record.request.id == first
    assert len(uow.committed_rows) == 1


def test_an_idempotency_key_reused_for_another_body_is_refused(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """A different identifier under the same key is a client bug, reported as such."""
    ports = make_ports(clock, eraser)
    open_request(uow, ports)
    other = services.OpenRequest(
        RequestKind.CANCEL,
        Identifiers("phone", "13900139000"),
        Actor.api_key(KEY),
        idempotency_key="idem-1",
    )
    with pytest.raises(services.IdempotencyKeyReusedError):
        services.submit(other, uow, ports, owner=KEY)


def test_the_same_idempotency_key_of_another_api_key_opens_a_new_request(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """Keys are scoped to their owner."""
    ports = make_ports(clock, eraser)
    open_request(uow, ports)
    command = services.OpenRequest(
        RequestKind.CANCEL, PHONE, Actor.api_key("key_b"), idempotency_key="idem-1"
    )
    assert services.submit(command, uow, ports, owner="key_b").created is True


def test_a_kind_without_an_executor_is_refused_at_submission(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """No request is accepted that the deployment cannot carry out."""
    ports = make_ports(clock, eraser)
    command = services.OpenRequest(RequestKind.ACCESS, PHONE, Actor.api_key(KEY))
    with pytest.raises(services.KindNotSupportedError) as info:
        services.submit(command, uow, ports, owner=KEY)
    assert info.value.to_exitright_error().code is ErrorCode.INVALID_REQUEST
    assert uow.committed_rows == {}


# Access -----------------------------------------------------------------------------------------


def test_another_keys_request_is_not_found(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """Reading or acting on it looks exactly like a request that does not exist."""
    ports = make_ports(clock, eraser)
    request_id = open_request(uow, ports)
    with pytest.raises(RequestNotFoundError):
        services.get_request(request_id, uow, owner="key_b")
    with pytest.raises(RequestNotFoundError):
        services.verify(
            VerifyRequest(request_id, Actor.api_key("key_b")), uow, ports, owner="key_b"
        )
    assert services.get_request(request_id, uow, owner=None).request.id == request_id


# Advance ----------------------------------------------------------------------------------------


def test_with_zero_cooling_off_one_advance_completes_the_cancellation(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """verified → cooling_off → executing → completed, each step in the ledger."""
    ports = make_ports(clock, eraser, days=0)
    request_id = verified_request(uow, ports)
    record = advance(uow, ports, request_id)
    assert record.request.state is State.COMPLETED
    assert uow.events(request_id) == [
        "request.submit",
        "request.verify",
        "request.start_cooling_off",
        "request.execute",
        "request.complete",
    ]
    stored = uow.committed_rows[request_id]
    assert stored.identifiers is None  # gone once the request ends
    assert stored.next_run_at is None
    assert stored.plan_id == "plan-1"


def test_the_certificate_holds_counts_retention_and_the_completion_entry_hash(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """Claims per issue 5, and no identifier."""
    ports = make_ports(clock, eraser, days=0)
    request_id = verified_request(uow, ports)
    advance(uow, ports, request_id)
    token = services.certificate(request_id, uow, owner=KEY)
    claims = json.loads(token)
    complete = [e for e in uow.committed_entries if e[0] == "request.complete"]
    assert claims["ledger_entry"] == f"hash{uow.committed_entries.index(complete[0]) + 1}"
    assert claims["jti"] == claims["request_id"] == request_id
    assert claims["kind"] == "cancel" and claims["regime"] == "cn"
    assert claims["residual"] == {"result": "clean", "hits": 0}
    assert {"store": "platform", "table": "users", "deleted": 1} in claims["erasure"]
    assert {
        "store": "platform",
        "table": "orders",
        "retained": 2,
        "legal_basis": "cn-ecl-31",
        "retain_until": "2029-03-02",
    } in claims["erasure"]
    assert complete[0][3]["tables"] == claims["erasure"]
    assert PHONE.value not in token


def test_cooling_off_waits_until_its_end_and_then_executes(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """Before the end nothing runs; the worker is told when to come back."""
    ports = make_ports(clock, eraser, days=7)
    request_id = verified_request(uow, ports)
    record = advance(uow, ports, request_id)
    assert record.request.state is State.COOLING_OFF
    assert record.next_run_at == START + timedelta(days=7)
    clock.advance(timedelta(days=6))
    assert advance(uow, ports, request_id).request.state is State.COOLING_OFF
    assert eraser.runs == 0
    clock.advance(timedelta(days=1))
    assert advance(uow, ports, request_id).request.state is State.COMPLETED


def test_a_revoked_request_is_never_executed_and_forgets_its_identifiers(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """Revoking during cooling-off ends it for good."""
    ports = make_ports(clock, eraser, days=7)
    request_id = verified_request(uow, ports)
    advance(uow, ports, request_id)
    services.revoke(RevokeRequest(request_id, Actor.api_key(KEY)), uow, ports, owner=KEY)
    clock.advance(timedelta(days=8))
    record = advance(uow, ports, request_id)
    assert record.request.state is State.REVOKED
    assert uow.committed_rows[request_id].identifiers is None
    assert eraser.runs == 0


def test_a_failed_erasure_backs_off_and_is_retried_to_completion(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """failed with a reason code; not before the backoff; then executing → completed."""
    ports = make_ports(clock, eraser, days=0)
    request_id = verified_request(uow, ports)
    good = eraser.outcome
    eraser.outcome = ErasureOutcome("failed", failed_step="residual platform.")
    record = advance(uow, ports, request_id)
    assert record.request.state is State.FAILED
    assert record.request.failure is not None
    assert record.request.failure.reason == "erasure_failed:residual platform."
    assert record.next_run_at == START + timedelta(seconds=15)  # base 30 s × (½ + ½·0)
    eraser.outcome = good
    assert advance(uow, ports, request_id).request.state is State.FAILED  # not yet due
    clock.advance(timedelta(seconds=15))
    record = advance(uow, ports, request_id)
    assert record.request.state is State.COMPLETED
    assert record.request.attempts == 2
    assert eraser.plans == {request_id: "plan-1"}  # the same plan, resumed


def test_an_engine_error_fails_the_attempt_with_its_catalog_key(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """A store that cannot be reached is a failure to retry, recorded without driver text."""
    ports = make_ports(clock, eraser, days=0)
    request_id = verified_request(uow, ports)
    eraser.error = ExitRightError(
        ErrorCode.STORE_UNREACHABLE, message_id="erasure.store_unreachable"
    )
    record = advance(uow, ports, request_id)
    assert record.request.state is State.FAILED
    assert uow.committed_entries[-1][3]["reason"] == "erasure.store_unreachable"


def test_a_plan_busy_in_another_worker_is_looked_at_again_later(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """The request stays executing; the worker comes back after a minute."""
    ports = make_ports(clock, eraser, days=0)
    request_id = verified_request(uow, ports)
    eraser.error = EraserBusyError("plan-1")
    record = advance(uow, ports, request_id)
    assert record.request.state is State.EXECUTING
    assert record.next_run_at == START + timedelta(seconds=services.BUSY_RETRY_SECONDS)


def test_two_workers_on_one_request_complete_it_exactly_once(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """A second worker finishing meanwhile leaves the first one nothing to record."""
    ports = make_ports(clock, eraser, days=0)
    request_id = verified_request(uow, ports)
    other = FakeEraser()
    other_ports = make_ports(clock, other, days=0)

    def second_worker() -> None:
        services.advance(services.AdvanceRequest(request_id, "w2"), uow, other_ports)

    eraser.during_run = second_worker
    record = advance(uow, ports, request_id)
    assert record.request.state is State.COMPLETED
    assert uow.events(request_id).count("request.complete") == 1


# Revoke and reject ------------------------------------------------------------------------------


def test_an_operator_rejects_with_a_reason_and_the_appeal_route(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """The rejection names the reason code and the regime's appeal route."""
    ports = make_ports(clock, eraser)
    request_id = open_request(uow, ports)
    command = RejectRequest(
        request_id, Actor.operator("key_admin"), RejectionReason.IDENTITY_NOT_VERIFIED
    )
    record = services.reject(command, uow, ports)
    assert record.request.state is State.REJECTED
    assert record.request.rejection is not None
    assert record.request.rejection.appeal.key == "requests.appeal.cn"
    assert uow.committed_entries[-1][3]["reason"] == "identity_not_verified"
    assert uow.committed_rows[request_id].identifiers is None


def test_an_api_key_may_not_reject(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """Rejection is an operator's decision; a back end revokes for its user instead."""
    ports = make_ports(clock, eraser)
    request_id = open_request(uow, ports)
    command = RejectRequest(request_id, Actor.api_key(KEY), RejectionReason.EXCESSIVE)
    with pytest.raises(ActorNotAllowedError):
        services.reject(command, uow, ports, owner=KEY)


def test_revoking_after_completion_is_an_illegal_transition_and_changes_nothing(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """409 territory: the ledger gets no entry for a refused move."""
    ports = make_ports(clock, eraser, days=0)
    request_id = verified_request(uow, ports)
    advance(uow, ports, request_id)
    before = list(uow.committed_entries)
    with pytest.raises(IllegalTransitionError):
        services.revoke(RevokeRequest(request_id, Actor.api_key(KEY)), uow, ports, owner=KEY)
    assert uow.committed_entries == before


def test_the_certificate_of_an_open_request_is_not_ready(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """No certificate before completion."""
    ports = make_ports(clock, eraser)
    request_id = open_request(uow, ports)
    with pytest.raises(services.CertificateNotReadyError):
        services.certificate(request_id, uow, owner=KEY)


def test_the_handler_table_dispatches_every_command(
    uow: FakeUnitOfWork, clock: FixedClock, eraser: FakeEraser
) -> None:
    """One visible table: each command type has its use case."""
    ports = make_ports(clock, eraser, days=0)
    opened = services.handle(
        services.OpenRequest(RequestKind.CANCEL, PHONE, Actor.user()), uow, ports
    )
    request_id = opened.record.request.id
    services.handle(VerifyRequest(request_id, Actor.system("otp")), uow, ports)
    record = services.handle(services.AdvanceRequest(request_id), uow, ports)
    assert record.request.state is State.COMPLETED
    assert set(services.HANDLERS) == {
        services.OpenRequest,
        VerifyRequest,
        RevokeRequest,
        RejectRequest,
        services.AdvanceRequest,
        RetryRequest,
    }


@pytest.mark.parametrize("attempt", [1, 2, 5, 30, 100])
@pytest.mark.parametrize("jitter", [0.0, 0.5, 0.999])
def test_backoff_grows_exponentially_within_its_jitter_band_and_cap(
    attempt: int, jitter: float
) -> None:
    """Delay is between ½ and 1 × min(base·2^(n-1), cap)."""
    policy = RetryPolicy(base=timedelta(seconds=30), cap=timedelta(hours=1))
    raw = min(timedelta(seconds=30) * 2 ** min(attempt - 1, 30), timedelta(hours=1))
    delay = policy.delay(attempt, jitter)
    assert raw / 2 <= delay <= raw


# Properties -------------------------------------------------------------------------------------

OPERATIONS = st.lists(
    st.sampled_from(["verify", "revoke", "reject", "advance", "advance_failing", "busy", "tick"]),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(operations=OPERATIONS, days=st.sampled_from([0, 1, 7]))
def test_any_sequence_of_calls_keeps_the_ledger_and_the_stored_record_consistent(
    operations: list[str], days: int
) -> None:
    """Each step has one ledger entry; ended requests hold no identifiers; one completion."""
    clock, eraser, uow = FixedClock(START), FakeEraser(), FakeUnitOfWork()
    ports = make_ports(clock, eraser, days=days)
    request_id = open_request(uow, ports)
    for op in operations:
        eraser.error = None
        try:
            if op == "verify":
                services.verify(VerifyRequest(request_id, Actor.api_key(KEY)), uow, ports)
            elif op == "revoke":
                services.revoke(RevokeRequest(request_id, Actor.api_key(KEY)), uow, ports)
            elif op == "reject":
                reason = RejectionReason.CANNOT_BE_CARRIED_OUT
                services.reject(RejectRequest(request_id, Actor.operator("op"), reason), uow, ports)
            elif op == "tick":
                clock.advance(timedelta(days=1))
            else:
                if op == "advance_failing":
                    eraser.error = ExitRightError(ErrorCode.STORE_UNREACHABLE)
                elif op == "busy":
                    eraser.error = EraserBusyError("plan")
                advance(uow, ports, request_id)
        except (IllegalTransitionError, ActorNotAllowedError):
            pass
        record = uow.committed_rows[request_id]
        request = record.request
        events = uow.events(request_id)
        assert len(events) == len(request.history)
        assert events.count("request.complete") <= 1
        if not request.is_open:
            assert record.identifiers is None and record.next_run_at is None
        else:
            assert record.identifiers == PHONE
        assert (record.certificate is not None) == (request.state is State.COMPLETED)
        if request.state is State.FAILED:
            assert record.next_run_at is not None


def test_every_api_message_the_code_names_is_in_both_catalogs() -> None:
    """Each ``api.error.*`` key used by the request service, API and keys has zh-CN and en text."""
    src = Path(__file__).parents[3] / "src" / "exitright"
    files = [
        src / "cancellation" / "ports.py",
        src / "cancellation" / "services.py",
        src / "db" / "requests.py",
        src / "web" / "auth.py",
        src / "web" / "routes" / "v1_requests.py",
    ]
    used = {k for f in files for k in re.findall(r'"(api\.error\.[a-z_]+)"', f.read_text())}
    assert len(used) >= 10
    for lang in ("en", "zh-CN"):
        assert used <= set(catalog(lang)), used - set(catalog(lang))
