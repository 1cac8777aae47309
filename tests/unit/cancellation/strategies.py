"""Hypothesis strategies for the request workflow: actors, steps, and whole histories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hypothesis import strategies as st

from exitright.cancellation.cooling_off import CoolingOffPolicy
from exitright.cancellation.deadlines import DeadlinePolicy, deadline_policy
from exitright.cancellation.model import TRANSITIONS, Action, Actor, ActorKind, Request, RequestKind
from exitright.cancellation.outcomes import RejectionReason
from exitright.cancellation.workdays import HolidayPeriod, YearArrangement
from exitright.clock import FixedClock

# Every action that moves or annotates a request after submission.
STEP_ACTIONS: tuple[Action, ...] = tuple(a for a in Action if a is not Action.SUBMIT)


def actors() -> st.SearchStrategy[Actor]:
    """Any actor: the subject, an operator, the engine, or an API key."""
    return st.sampled_from(
        [Actor.user(), Actor.operator("op-1"), Actor.system("worker"), Actor.api_key("key-1")]
    )


def instants(
    start: datetime = datetime(2004, 1, 1, tzinfo=UTC),
    end: datetime = datetime(2035, 12, 31, tzinfo=UTC),
) -> st.SearchStrategy[datetime]:
    """Aware UTC instants, by default across the calendar's known years and beyond."""
    return st.datetimes(
        min_value=start.replace(tzinfo=None), max_value=end.replace(tzinfo=None)
    ).map(lambda d: d.replace(tzinfo=UTC))


@dataclass(frozen=True)
class Step:
    """One attempted action, after the clock moved by ``wait``."""

    action: Action
    actor: Actor
    wait: timedelta
    reason: RejectionReason


def steps() -> st.SearchStrategy[Step]:
    """An attempted action by some actor, some time after the previous one."""
    return st.builds(
        Step,
        action=st.sampled_from(STEP_ACTIONS),
        actor=actors(),
        wait=st.sampled_from([timedelta(0), timedelta(hours=1), timedelta(days=3)])
        | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
        reason=st.sampled_from(list(RejectionReason)),
    )


@dataclass(frozen=True)
class Scenario:
    """A submitted request, its clock and policies, and the steps to try on it."""

    kind: RequestKind
    regime: str
    submitted_at: datetime
    cooling_off_days: int
    steps: tuple[Step, ...]


def scenarios(max_steps: int = 25) -> st.SearchStrategy[Scenario]:
    """A request of any kind and regime with a sequence of attempted steps."""
    return st.builds(
        Scenario,
        kind=st.sampled_from(list(RequestKind)),
        regime=st.sampled_from(["cn", "gdpr", "ccpa"]),
        submitted_at=instants(end=datetime(2028, 12, 31, tzinfo=UTC)),
        cooling_off_days=st.integers(min_value=0, max_value=10),
        steps=st.lists(steps(), max_size=max_steps).map(tuple),
    )


def submit(scenario: Scenario) -> tuple[Request, FixedClock, DeadlinePolicy]:
    """Submit the scenario's request on a fixed clock."""
    clock = FixedClock(scenario.submitted_at)
    policy = deadline_policy(scenario.regime)
    request = Request.submit(
        request_id="req-1",
        kind=scenario.kind,
        subject_ref="subject-1",
        actor=Actor.user(),
        clock=clock,
        deadlines=policy,
    )
    return request, clock, policy


def attempt(
    request: Request, step: Step, clock: FixedClock, policy: DeadlinePolicy, cooling_off_days: int
) -> None:
    """Call the request method for ``step`` with plausible arguments (it may raise)."""
    clock.advance(step.wait)
    actor = step.actor
    match step.action:
        case Action.VERIFY:
            request.verify(actor, clock)
        case Action.BLOCK:
            request.block(["open_orders"], actor, clock)
        case Action.START_COOLING_OFF:
            request.start_cooling_off(CoolingOffPolicy(cooling_off_days), actor, clock)
        case Action.EXECUTE:
            request.execute(actor, clock)
        case Action.COMPLETE:
            request.complete(actor, clock)
        case Action.FAIL:
            request.fail("store_unreachable:orders", actor, clock)
        case Action.RETRY:
            request.retry(actor, clock)
        case Action.REVOKE:
            request.revoke(actor, clock)
        case Action.REJECT:
            request.reject(step.reason, actor, clock)
        case Action.EXTEND_DEADLINE:
            request.extend_deadline(policy, "complex request", actor, clock, months=1, days=0)
        case Action.CONFIRM_RECEIPT:
            request.confirm_receipt(actor, clock)
        case Action.SUBMIT:  # pragma: no cover - not generated
            raise AssertionError("submission is not a step")


def arrangements(year: int = 2027) -> st.SearchStrategy[YearArrangement]:
    """Hypothetical arrangements for ``year``: a few rest periods with make-up weekend days."""

    @st.composite
    def build(draw: st.DrawFn) -> YearArrangement:
        periods: list[HolidayPeriod] = []
        used: set[date] = set()
        for index in range(draw(st.integers(min_value=1, max_value=6))):
            start = draw(st.dates(date(year, 1, 1), date(year, 12, 20)))
            length = draw(st.integers(min_value=1, max_value=9))
            days = {start + timedelta(days=i) for i in range(length)}
            if days & used:
                continue
            end = start + timedelta(days=length - 1)
            weekends = [
                d
                for d in (start - timedelta(days=i) for i in range(1, 10))
                if d.weekday() >= 5 and d.year == year and d not in used
            ]
            make_up = (
                tuple(draw(st.lists(st.sampled_from(weekends), unique=True, max_size=2)))
                if weekends
                else ()
            )
            used |= days | set(make_up)
            periods.append(HolidayPeriod(f"holiday {index}", start, end, make_up))
        if not periods:
            periods.append(HolidayPeriod("new year", date(year, 1, 1), date(year, 1, 1)))
        return YearArrangement(year, "hypothetical test arrangement", tuple(periods))

    return build()


_ACTOR_OF: dict[ActorKind, Actor] = {
    ActorKind.USER: Actor.user(),
    ActorKind.OPERATOR: Actor.operator("op-2"),
    ActorKind.SYSTEM: Actor.system("worker"),
    ActorKind.API_KEY: Actor.api_key("key-2"),
}


def next_steps(request: Request) -> st.SearchStrategy[Step]:
    """Mostly steps the table allows now (so histories go deep), sometimes anything at all."""
    # Ending moves (revoke, reject) are listed once and the others three times, so that
    # histories often get as far as completion rather than stopping early.
    allowed = [
        (rule.action, kind)
        for rule in TRANSITIONS
        if rule.source is request.state and request.kind in rule.kinds
        for kind in sorted(rule.actors)
        for _ in range(1 if rule.action in (Action.REVOKE, Action.REJECT) else 3)
    ]
    if not allowed:
        return steps()
    guided = st.builds(
        lambda pair, wait, reason: Step(pair[0], _ACTOR_OF[pair[1]], wait, reason),
        st.sampled_from(allowed),
        st.sampled_from([timedelta(0), timedelta(minutes=5), timedelta(days=8)]),
        st.sampled_from(list(RejectionReason)),
    )
    return st.one_of(guided, guided, guided, steps())
