"""Pre-checks that run: count declarations, the runner, and the advance gate, with fakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from exitright.cancellation import services
from exitright.cancellation.errors import PreCheckConfigError
from exitright.cancellation.model import State
from exitright.cancellation.outcomes import RejectionReason
from exitright.cancellation.ports import Identifiers, Ports
from exitright.cancellation.precheck_run import (
    DeclaredPreChecks,
    PreCheckUnavailableError,
    blockers_of,
)
from exitright.cancellation.prechecking import RESOLVED_EVENT
from exitright.cancellation.prechecks import PreCheck, ResolutionKind, parse_pre_checks
from exitright.clock import FixedClock
from exitright.demo.prechecks import DEMO_PRE_CHECKS
from tests.unit.cancellation.test_services import (
    PHONE,
    START,
    FakeEraser,
    FakeUnitOfWork,
    advance,
    make_ports,
    open_request,
    verified_request,
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@dataclass
class FakeProbe:
    """Blocks while the subject's count for a check is above 0; counts its questions."""

    counts: dict[str, int] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    asked: int = 0

    def blocks(self, check: PreCheck, identifiers: Identifiers) -> bool:
        self.asked += 1
        if check.id in self.down:
            raise PreCheckUnavailableError(f"pre-check {check.id}: store down")
        return self.counts.get(check.id, 0) > 0


@dataclass
class FakeRefund:
    """The platform's refund: empties the wallet the probe looks at."""

    probe: FakeProbe
    refunds: int = 0

    def resolve(self, check: PreCheck, identifiers: Identifiers) -> bool:
        if self.probe.counts.get(check.id, 0) <= 0:
            return False
        self.probe.counts[check.id] = 0
        self.refunds += 1
        return True


def demo_checks() -> tuple[PreCheck, ...]:
    return parse_pre_checks([dict(d) for d in DEMO_PRE_CHECKS])


def gated_ports(clock: FixedClock, probe: FakeProbe, *, refund: bool = True) -> Ports:
    ports = make_ports(clock, FakeEraser(), days=7)
    resolvers: dict[str, Any] = {"wallet_balance": FakeRefund(probe)} if refund else {}
    ports.prechecks = DeclaredPreChecks(
        demo_checks(),
        dict.fromkeys(("open_orders", "wallet_balance", "open_disputes"), probe),
        resolvers,
    )
    ports.precheck_interval = timedelta(minutes=15)
    return ports


# Declarations with a count query ---------------------------------------------------------------


def test_the_demo_declarations_are_lawful_counts_binding_only_the_user_id() -> None:
    """Open orders, wallet balance and disputes parse, each a count on the platform store."""
    checks = demo_checks()
    assert [c.id for c in checks] == ["open_orders", "wallet_balance", "open_disputes"]
    assert all(c.sql is not None and c.sql.parameters == ("user_id",) for c in checks)
    assert checks[1].resolution is ResolutionKind.REFUND_TO_ORIGINAL_METHOD


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("DELETE FROM orders WHERE user_id = :user_id", "one SELECT count"),
        ("SELECT count(*) FROM orders WHERE user_id = :user_id; DROP TABLE users", "may not"),
        ("SELECT count(*) FROM orders WHERE user_id = :user_id -- x", "may not"),
        ("SELECT count(*) FROM orders WHERE note = :note", "only through"),
        ("SELECT count(*) FROM orders WHERE user_id = 42", "only through"),
        ("SELECT count(*) FROM orders WHERE user_id = '{user_id}'", "only through"),
        ("SELECT count(*) FROM orders WHERE user_id = :user_id INTO OUTFILE '/tmp/x'", "may not"),
        ("SELECT count(*) FROM orders WHERE user_id = :user_id AND x = 'a", "unterminated"),
    ],
)
def test_a_count_query_that_could_write_or_take_user_input_is_refused(
    query: str, problem: str
) -> None:
    """One read-only count binding the subject's identifiers, nothing else."""
    with pytest.raises(PreCheckConfigError) as caught:
        parse_pre_checks(
            [{"id": "x1", "resolution": "wait", "sql": {"store": "platform", "query": query}}]
        )
    assert problem in str(caught.value)


def test_words_inside_quoted_literals_do_not_trip_the_validator() -> None:
    """A status called 'update_pending' is a value, not a statement."""
    [check] = parse_pre_checks(
        [
            {
                "id": "x1",
                "resolution": "wait",
                "sql": {
                    "store": "platform",
                    "query": "SELECT count(*) FROM t WHERE phone = :phone AND s = 'update; drop'",
                },
            }
        ]
    )
    assert check.sql is not None and check.sql.parameters == ("phone",)


# The runner ------------------------------------------------------------------------------------


def test_the_runner_reports_blocking_checks_and_lets_the_platform_refund_a_balance() -> None:
    """The wallet is refunded and clears; open orders stay for the user to resolve."""
    probe = FakeProbe({"open_orders": 2, "wallet_balance": 1})
    refund = FakeRefund(probe)
    runner = DeclaredPreChecks(
        demo_checks(),
        dict.fromkeys(("open_orders", "wallet_balance", "open_disputes"), probe),
        {"wallet_balance": refund},
    )
    run = runner.run(PHONE)
    assert run.blocking == ("open_orders",)
    assert run.resolved == ("wallet_balance",)
    assert refund.refunds == 1 and not run.clear


def test_a_check_that_cannot_be_asked_is_neither_a_block_nor_a_pass() -> None:
    """A store that is down makes the request wait, it is not let through on a guess."""
    probe = FakeProbe(down={"open_disputes"})
    runner = DeclaredPreChecks(
        demo_checks(), dict.fromkeys(("open_orders", "wallet_balance", "open_disputes"), probe)
    )
    run = runner.run(PHONE)
    assert run.unavailable == ("open_disputes",) and run.blocking == () and not run.clear


def test_a_declared_check_without_a_probe_is_refused_at_wiring() -> None:
    """Every declaration needs a way to run."""
    with pytest.raises(ValueError, match="without a probe"):
        DeclaredPreChecks(demo_checks(), {})


def test_a_blocker_no_longer_declared_still_explains_itself() -> None:
    """Its texts stay (by id); only the link is gone."""
    [known, gone] = blockers_of(["open_orders", "security_lock"], demo_checks())
    assert known.link == "/shop/orders?status=open"
    assert gone.explanation_key == "requests.precheck.security_lock.explanation"
    assert gone.link is None


# advance: verified → pre-checks → blocked or cooling-off --------------------------------------


def test_a_verified_cancellation_with_open_orders_is_blocked_and_checked_again_later(
    uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    """Blocked with the check's id; the worker looks again after the interval."""
    probe = FakeProbe({"open_orders": 1})
    ports = gated_ports(clock, probe)
    request_id = verified_request(uow, ports)
    record = advance(uow, ports, request_id)
    assert record.request.state is State.BLOCKED
    assert record.request.blockers == ("open_orders",)
    assert record.next_run_at == clock.now() + timedelta(minutes=15)
    assert uow.events(request_id)[-1] == "request.block"


def test_a_recheck_that_finds_the_same_blockers_does_not_grow_the_timeline(
    uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    """Asked again and still blocked: only the next look is rescheduled."""
    probe = FakeProbe({"open_orders": 1})
    ports = gated_ports(clock, probe)
    request_id = verified_request(uow, ports)
    steps = len(advance(uow, ports, request_id).request.history)
    clock.advance(timedelta(minutes=16))
    record = advance(uow, ports, request_id)
    assert len(record.request.history) == steps
    assert record.next_run_at == clock.now() + timedelta(minutes=15)


def test_a_blocked_request_is_not_asked_again_before_its_time_unless_the_user_asks(
    uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    """The worker waits for the interval; "check again" runs the checks at once."""
    probe = FakeProbe({"open_orders": 1})
    ports = gated_ports(clock, probe)
    request_id = verified_request(uow, ports)
    advance(uow, ports, request_id)
    asked = probe.asked
    advance(uow, ports, request_id)
    assert probe.asked == asked
    probe.counts["open_orders"] = 0
    command = services.AdvanceRequest(request_id, "recheck", recheck=True)
    record = services.advance(command, uow, ports)
    assert record.request.state is State.COOLING_OFF
    assert record.request.blockers == ()


def test_once_resolved_the_blocked_request_goes_on_to_cooling_off(
    uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    """blocked → cooling_off when nothing blocks any more."""
    probe = FakeProbe({"open_orders": 1})
    ports = gated_ports(clock, probe)
    request_id = verified_request(uow, ports)
    advance(uow, ports, request_id)
    probe.counts["open_orders"] = 0
    clock.advance(timedelta(minutes=15))
    record = advance(uow, ports, request_id)
    assert record.request.state is State.COOLING_OFF
    assert [s.target for s in record.request.history][-2:] == [State.BLOCKED, State.COOLING_OFF]


def test_a_wallet_balance_is_refunded_by_the_platform_and_the_request_goes_straight_on(
    uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    """No block: the refund is in the ledger (no amount, no identifier), then cooling-off."""
    probe = FakeProbe({"wallet_balance": 1})
    ports = gated_ports(clock, probe)
    request_id = verified_request(uow, ports)
    record = advance(uow, ports, request_id)
    assert record.request.state is State.COOLING_OFF
    [entry] = [e for e in uow.committed_entries if e[0] == RESOLVED_EVENT]
    assert entry[3]["check"] == "wallet_balance"
    assert entry[3]["resolution"] == "refund_to_original_method"
    assert PHONE.value not in repr(entry)


def test_a_check_that_cannot_be_asked_keeps_the_request_verified_and_waiting(
    uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    """Neither blocked nor through: it is looked at again after the interval."""
    probe = FakeProbe(down={"open_orders"})
    ports = gated_ports(clock, probe)
    request_id = verified_request(uow, ports)
    record = advance(uow, ports, request_id)
    assert record.request.state is State.VERIFIED
    assert record.next_run_at == clock.now() + timedelta(minutes=15)


def test_without_declared_pre_checks_a_verified_cancellation_starts_cooling_off(
    uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    """No runner: the workflow is as before."""
    ports = make_ports(clock, FakeEraser(), days=7)
    request_id = verified_request(uow, ports)
    assert advance(uow, ports, request_id).request.state is State.COOLING_OFF


# Never-verified requests -------------------------------------------------------------------------


def test_a_request_never_verified_is_closed_after_the_configured_time(
    uow: FakeUnitOfWork, clock: FixedClock
) -> None:
    """Rejected with identity_not_verified (its text invites a new request); identifiers gone."""
    ports = make_ports(clock, FakeEraser())
    ports.verify_within = timedelta(hours=24)
    request_id = open_request(uow, ports)
    clock.advance(timedelta(hours=23))
    assert advance(uow, ports, request_id).request.state is State.SUBMITTED
    clock.advance(timedelta(hours=1))
    record = advance(uow, ports, request_id)
    assert record.request.state is State.REJECTED
    assert record.request.rejection is not None
    assert record.request.rejection.reason is RejectionReason.IDENTITY_NOT_VERIFIED
    assert record.identifiers is None and record.next_run_at is None
    assert uow.events(request_id)[-1] == "request.reject"
