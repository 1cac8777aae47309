"""The request lifecycle: the transition table, recorded steps, and properties over any history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exitright.cancellation.cooling_off import CoolingOffPolicy
from exitright.cancellation.deadlines import DeadlinePolicy, deadline_policy
from exitright.cancellation.errors import (
    ActorNotAllowedError,
    CoolingOffNotOverError,
    DomainError,
    IllegalTransitionError,
)
from exitright.cancellation.events import (
    CoolingOffStarted,
    ExecutionFailed,
    RequestCompleted,
    RequestRejected,
    RequestSubmitted,
)
from exitright.cancellation.model import (
    TERMINAL_STATES,
    TRANSITIONS,
    Action,
    Actor,
    ActorKind,
    Request,
    RequestKind,
    State,
    rule_for,
)
from exitright.cancellation.outcomes import APPEAL_ROUTES, RejectionReason
from exitright.clock import FixedClock
from exitright.errors import ErrorCode

from .strategies import Scenario, attempt, next_steps, scenarios, submit

T0 = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing
USER, SYSTEM, OPERATOR = Actor.user(), Actor.system("worker"), Actor.operator("op-7")


def new_request(
    kind: RequestKind = RequestKind.CANCEL, regime: str = "cn"
) -> tuple[Request, FixedClock, DeadlinePolicy]:
    """A freshly submitted request on a fixed clock."""
    clock = FixedClock(T0)
    policy = deadline_policy(regime)
    request = Request.submit(
        request_id="req-1",
        kind=kind,
        subject_ref="psn-1",
        actor=USER,
        clock=clock,
        deadlines=policy,
    )
    return request, clock, policy


def test_the_table_has_one_row_per_state_and_action() -> None:
    """No (state, action) pair appears twice, so the table alone decides every move."""
    keys = [(r.source, r.action) for r in TRANSITIONS]
    assert len(keys) == len(set(keys))


def test_no_row_leaves_a_terminal_state() -> None:
    """Completed, revoked and rejected requests never move again."""
    assert not [r for r in TRANSITIONS if r.source in TERMINAL_STATES]


def test_every_state_is_reachable_from_submitted() -> None:
    """The table has no dead states."""
    reached, frontier = {State.SUBMITTED}, [State.SUBMITTED]
    while frontier:
        state = frontier.pop()
        for rule in TRANSITIONS:
            if rule.source is state and rule.target not in reached:
                reached.add(rule.target)
                frontier.append(rule.target)
    assert reached == set(State)


def test_revocation_is_possible_only_before_executing() -> None:
    """The subject may revoke from submitted, verified, blocked and cooling-off — nowhere else."""
    sources = {r.source for r in TRANSITIONS if r.action is Action.REVOKE}
    assert sources == {State.SUBMITTED, State.VERIFIED, State.BLOCKED, State.COOLING_OFF}
    assert all(
        r.actors == {ActorKind.USER, ActorKind.API_KEY}
        for r in TRANSITIONS
        if r.action is Action.REVOKE
    )


def test_a_cancellation_runs_through_cooling_off_to_completion() -> None:
    """The whole happy path of a cancellation, each step recorded with its time and actor."""
    request, clock, _ = new_request()
    request.verify(SYSTEM, clock)
    request.start_cooling_off(CoolingOffPolicy(7), SYSTEM, clock)
    assert request.cooling_off_until == T0 + timedelta(days=7)
    clock.advance(timedelta(days=7))
    request.execute(SYSTEM, clock)
    request.complete(SYSTEM, clock)
    assert request.state is State.COMPLETED
    assert [r.action for r in request.history] == [
        Action.SUBMIT,
        Action.VERIFY,
        Action.START_COOLING_OFF,
        Action.EXECUTE,
        Action.COMPLETE,
    ]
    assert request.history[-1].at == T0 + timedelta(days=7)
    assert request.history[0].actor == USER and request.history[-1].actor == SYSTEM
    assert isinstance(request.events[0], RequestSubmitted)
    assert isinstance(request.events[2], CoolingOffStarted)
    assert isinstance(request.events[-1], RequestCompleted)


def test_a_cancellation_cannot_execute_before_cooling_off_ends() -> None:
    """Execution one second early is refused and changes nothing."""
    request, clock, _ = new_request()
    request.verify(SYSTEM, clock)
    request.start_cooling_off(CoolingOffPolicy(7), SYSTEM, clock)
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    before = request.to_dict()
    with pytest.raises(CoolingOffNotOverError):
        request.execute(SYSTEM, clock)
    assert request.to_dict() == before


def test_a_zero_day_cooling_off_still_appears_on_the_timeline() -> None:
    """With 0 days the request passes through cooling-off and may execute at once."""
    request, clock, _ = new_request()
    request.verify(SYSTEM, clock)
    request.start_cooling_off(CoolingOffPolicy(0), SYSTEM, clock)
    request.execute(SYSTEM, clock)
    assert request.state is State.EXECUTING
    assert Action.START_COOLING_OFF in [r.action for r in request.history]


def test_the_user_can_revoke_during_cooling_off() -> None:
    """Undoing a cancellation works at any moment of the cooling-off."""
    request, clock, _ = new_request()
    request.verify(SYSTEM, clock)
    request.start_cooling_off(CoolingOffPolicy(7), SYSTEM, clock)
    clock.advance(timedelta(days=6, hours=23))
    request.revoke(USER, clock, reason="changed my mind")
    assert request.state is State.REVOKED
    assert request.history[-1].note == "changed my mind"


def test_revoking_while_executing_is_an_illegal_transition_mapped_to_conflict() -> None:
    """Once erasure started the request cannot be withdrawn; the web layer gets a 409."""
    request, clock, _ = new_request(RequestKind.ACCESS)
    request.verify(SYSTEM, clock)
    request.execute(SYSTEM, clock)
    with pytest.raises(IllegalTransitionError) as caught:
        request.revoke(USER, clock)
    error = caught.value.to_exitright_error()
    assert error.code is ErrorCode.CONFLICT
    assert error.http_status == 409
    assert error.msgid == "requests.error.illegal_transition"
    assert error.details == {"action": "revoke", "state": "executing", "kind": "access"}


def test_an_operator_cannot_revoke_for_the_user() -> None:
    """Stopping a request on the platform's side is a rejection, which needs a reason."""
    request, clock, _ = new_request()
    with pytest.raises(ActorNotAllowedError) as caught:
        request.revoke(OPERATOR, clock)
    assert caught.value.to_exitright_error().code is ErrorCode.FORBIDDEN


def test_other_kinds_skip_cooling_off() -> None:
    """Access, correct and delete requests go from verified straight to executing."""
    for kind in (RequestKind.ACCESS, RequestKind.CORRECT, RequestKind.DELETE):
        request, clock, _ = new_request(kind)
        request.verify(SYSTEM, clock)
        with pytest.raises(IllegalTransitionError):
            request.start_cooling_off(CoolingOffPolicy(7), SYSTEM, clock)
        request.execute(SYSTEM, clock)
        assert request.state is State.EXECUTING


def test_a_cancellation_cannot_skip_cooling_off() -> None:
    """A verified cancellation has no direct path to executing."""
    request, clock, _ = new_request()
    request.verify(SYSTEM, clock)
    with pytest.raises(IllegalTransitionError):
        request.execute(SYSTEM, clock)


def test_a_blocked_cancellation_continues_into_cooling_off_once_resolved() -> None:
    """Blocking names the pre-checks; resolving them clears the blockers."""
    request, clock, _ = new_request()
    request.verify(SYSTEM, clock)
    request.block(["open_orders", "wallet_balance"], SYSTEM, clock)
    assert request.blockers == ("open_orders", "wallet_balance")
    assert request.history[-1].reason == "open_orders,wallet_balance"
    request.start_cooling_off(CoolingOffPolicy(), SYSTEM, clock)
    assert not request.blockers


def test_a_block_must_name_its_pre_checks() -> None:
    """A generic block would fail PIPL Art. 50's demand for reasons."""
    request, clock, _ = new_request()
    request.verify(SYSTEM, clock)
    with pytest.raises(IllegalTransitionError):
        request.block([], SYSTEM, clock)
    assert request.state is State.VERIFIED


def test_a_failed_request_shows_why_and_goes_back_to_executing() -> None:
    """Failure is a retrying state with the reason visible; retry counts the attempt."""
    request, clock, _ = new_request(RequestKind.DELETE)
    request.verify(SYSTEM, clock)
    request.execute(SYSTEM, clock)
    request.fail("store_unreachable:orders", SYSTEM, clock)
    assert request.state is State.FAILED and request.is_open
    assert request.failure is not None and request.failure.reason == "store_unreachable:orders"
    assert isinstance(request.events[-1], ExecutionFailed)
    request.retry(SYSTEM, clock)
    # Read through the dict: mypy keeps the narrowed FAILED from above across the call.
    assert request.to_dict()["state"] == "executing" and request.attempts == 2
    request.complete(SYSTEM, clock)
    assert request.failure is None


def test_a_rejection_records_its_reason_and_the_regimes_appeal_route() -> None:
    """Refusals carry a specific reason and where to appeal (PIPL Art. 50, GDPR Art. 77/79)."""
    for regime in ("cn", "gdpr", "ccpa"):
        request, clock, policy = new_request(regime=regime)
        request.reject(RejectionReason.IDENTITY_NOT_VERIFIED, OPERATOR, clock, note="no code")
        assert request.rejection is not None
        assert request.rejection.reason is RejectionReason.IDENTITY_NOT_VERIFIED
        assert request.rejection.appeal == APPEAL_ROUTES[policy.regime]
        event = request.events[-1]
        assert (
            isinstance(event, RequestRejected) and event.appeal_key == f"requests.appeal.{regime}"
        )


def test_an_impossible_request_is_rejected_by_an_operator_after_failing() -> None:
    """Failed requests end with an explanation rather than retrying for ever."""
    request, clock, _ = new_request(RequestKind.DELETE)
    request.verify(SYSTEM, clock)
    request.execute(SYSTEM, clock)
    request.fail("recipient_gone", SYSTEM, clock)
    with pytest.raises(ActorNotAllowedError):
        request.reject(RejectionReason.CANNOT_BE_CARRIED_OUT, SYSTEM, clock)
    request.reject(RejectionReason.CANNOT_BE_CARRIED_OUT, OPERATOR, clock)
    assert request.state is State.REJECTED


def test_the_engine_cannot_submit_requests_on_its_own() -> None:
    """Requests come from the subject, an operator or a platform back end, not the engine."""
    with pytest.raises(ActorNotAllowedError):
        Request.submit(
            request_id="r",
            kind=RequestKind.CANCEL,
            subject_ref="psn",
            actor=SYSTEM,
            clock=FixedClock(T0),
            deadlines=deadline_policy("cn"),
        )


def test_receipt_is_confirmed_once_and_recorded_without_moving_the_request() -> None:
    """Confirming receipt annotates the timeline; a second confirmation is refused."""
    request, clock, _ = new_request(regime="ccpa")
    request.confirm_receipt(SYSTEM, clock)
    assert request.state is State.SUBMITTED
    assert request.history[-1].action is Action.CONFIRM_RECEIPT
    with pytest.raises(IllegalTransitionError):
        request.confirm_receipt(SYSTEM, clock)


def test_can_tells_the_page_which_buttons_to_show() -> None:
    """The revoke button shows for the user during cooling-off and not for an operator."""
    request, clock, _ = new_request()
    request.verify(SYSTEM, clock)
    request.start_cooling_off(CoolingOffPolicy(), SYSTEM, clock)
    assert request.can(Action.REVOKE, USER)
    assert not request.can(Action.REVOKE, OPERATOR)
    assert not request.can(Action.COMPLETE)


def test_a_request_survives_a_round_trip_through_its_dict() -> None:
    """What the repository stores restores an equal request (events are transient)."""
    request, clock, policy = new_request(regime="gdpr")
    request.extend_deadline(policy, "many systems to search", OPERATOR, clock, months=1)
    request.verify(SYSTEM, clock)
    request.block(["open_orders"], SYSTEM, clock)
    request.reject(RejectionReason.LEGAL_CLAIMS, OPERATOR, clock, note="case 12")
    restored = Request.from_dict(request.to_dict())
    assert restored == request
    assert restored.events == []


def _check_history(request: Request) -> None:
    """Invariants every history must satisfy."""
    moves = [r for r in request.history if r.source is not r.target or r.action is Action.BLOCK]
    assert request.history[0].action is Action.SUBMIT
    assert request.history[0].target is State.SUBMITTED
    assert request.history[-1].target is request.state
    for previous, record in zip(request.history, request.history[1:], strict=False):
        assert record.source is previous.target
        assert record.at >= previous.at
    for record in moves[1:]:
        assert record.source is not None
        rule = rule_for(record.source, record.action, request.kind)
        assert rule is not None and rule.target is record.target
        assert record.actor.kind in rule.actors
    actions = [r.action for r in request.history]
    if Action.EXECUTE in actions:
        assert Action.REVOKE not in actions[actions.index(Action.EXECUTE) :]
    if request.kind is RequestKind.CANCEL and Action.EXECUTE in actions:
        assert Action.START_COOLING_OFF in actions[: actions.index(Action.EXECUTE)]
        started = request.history[actions.index(Action.EXECUTE)].at
        assert request.cooling_off_until is not None and started >= request.cooling_off_until
    if request.kind is not RequestKind.CANCEL:
        assert State.COOLING_OFF not in {r.target for r in request.history}
    terminal = [
        r for r in request.history if r.target in TERMINAL_STATES and r.source is not r.target
    ]
    assert len(terminal) <= 1
    if request.state in TERMINAL_STATES:
        assert (
            terminal and terminal[0] is [r for r in request.history if r.source is not r.target][-1]
        )
    if request.state is State.REJECTED:
        assert request.rejection is not None
        assert request.rejection.appeal == APPEAL_ROUTES[request.regime]
    if request.state is State.FAILED:
        assert request.failure is not None
    assert len(request.events) == len(request.history)
    assert request.version == len(request.history) - 1


@settings(max_examples=300, deadline=None)
@given(scenarios(max_steps=0), st.data())
def test_no_sequence_of_actions_reaches_an_illegal_state(
    scenario: Scenario, data: st.DataObject
) -> None:
    """Whatever is attempted in whatever order, the history stays a path through the table."""
    request, clock, policy = submit(scenario)
    for _ in range(data.draw(st.integers(min_value=0, max_value=30), label="length")):
        step = data.draw(next_steps(request))
        before = request.to_dict()
        try:
            attempt(request, step, clock, policy, scenario.cooling_off_days)
        except DomainError:
            # A refused step changes nothing at all.
            assert request.to_dict() == before
        _check_history(request)
    assert Request.from_dict(request.to_dict()) == request


@settings(max_examples=200, deadline=None)
@given(scenarios(max_steps=0), st.data())
def test_a_terminal_request_refuses_every_further_action(
    scenario: Scenario, data: st.DataObject
) -> None:
    """Once completed, revoked or rejected, nothing moves or annotates the request."""
    request, clock, policy = submit(scenario)
    for _ in range(data.draw(st.integers(min_value=0, max_value=30), label="length")):
        step = data.draw(next_steps(request))
        was_terminal = request.state in TERMINAL_STATES
        before = request.to_dict()
        try:
            attempt(request, step, clock, policy, scenario.cooling_off_days)
        except DomainError:
            continue
        assert not was_terminal, f"{step.action} changed a {before['state']} request"
