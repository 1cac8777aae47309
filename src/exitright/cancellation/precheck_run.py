"""Running the declared pre-checks: the ports they need, and the runner that composes them.

A :class:`PreCheckProbe` answers one question about one subject ("does this account have open
orders?"); a :class:`PreCheckResolver` is what the platform does itself to clear a check whose
resolution is its own job (refund a wallet balance to the original payment method). The
:class:`DeclaredPreChecks` runner asks every declared check's probe, lets the resolver act on a
blocking check it can resolve, asks again, and reports which checks still block, which the
platform resolved, and which could not be asked (a store that is down: the request then waits
and is checked again, it is neither blocked nor let through on a guess).

Adapters (a SQL count on a mapped store, the demo platform's wallet refund) live outside this pure
folder; the services call the runner through :attr:`~exitright.cancellation.ports.Ports.prechecks`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from exitright.cancellation.prechecks import PreCheck, ResolutionKind

if TYPE_CHECKING:
    from exitright.cancellation.ports import Identifiers

__all__ = [
    "DeclaredPreChecks",
    "PreCheckProbe",
    "PreCheckResolver",
    "PreCheckRun",
    "PreCheckRunner",
    "PreCheckUnavailableError",
    "blockers_of",
]


class PreCheckUnavailableError(Exception):
    """A probe or resolver could not reach the platform; the check is asked again later.

    The message names the check and the store, never a value (it is logged).
    """


class PreCheckProbe(Protocol):
    """Asks the platform whether one declared check blocks the subject now."""

    def blocks(self, check: PreCheck, identifiers: Identifiers) -> bool:
        """True while the check blocks (raises PreCheckUnavailableError if it cannot tell)."""
        ...


class PreCheckResolver(Protocol):
    """What the platform does itself to clear a check (a refund to the original method)."""

    def resolve(self, check: PreCheck, identifiers: Identifiers) -> bool:
        """Clear the check for the subject; idempotent. True when something was done."""
        ...


@dataclass(frozen=True)
class PreCheckRun:
    """The outcome of one run over every declared check, by check id."""

    blocking: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()  # cleared by the platform during this run (a refund)
    unavailable: tuple[str, ...] = ()  # could not be asked: wait and ask again

    @property
    def clear(self) -> bool:
        """Nothing blocks and every check could be asked: the request may go on."""
        return not self.blocking and not self.unavailable


class PreCheckRunner(Protocol):
    """The port the services use: the declared checks, and a run over them for one subject."""

    @property
    def checks(self) -> tuple[PreCheck, ...]:
        """The declared checks, in declaration order."""
        ...

    def run(self, identifiers: Identifiers) -> PreCheckRun:
        """Ask every declared check about the subject (a resolver may act on the platform)."""
        ...


@dataclass
class DeclaredPreChecks:
    """The runner over declared checks: one probe per check, resolvers where the platform acts.

    A check whose resolution is ``refund_to_original_method`` and that has a resolver is resolved
    by the platform during the run (then asked again); every other blocking check is reported,
    for the user to resolve (a link), or to clear by itself (wait).
    """

    declared: tuple[PreCheck, ...]
    probes: Mapping[str, PreCheckProbe]
    resolvers: Mapping[str, PreCheckResolver] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c.id for c in self.declared if c.id not in self.probes]
        if missing:
            raise ValueError(f"pre-checks without a probe: {', '.join(missing)}")

    @property
    def checks(self) -> tuple[PreCheck, ...]:
        """The declared checks, in declaration order."""
        return self.declared

    def run(self, identifiers: Identifiers) -> PreCheckRun:
        """Ask every check; let the platform resolve what is its own job; ask those again."""
        blocking: list[str] = []
        resolved: list[str] = []
        unavailable: list[str] = []
        for check in self.declared:
            probe = self.probes[check.id]
            try:
                if not probe.blocks(check, identifiers):
                    continue
                resolver = self.resolvers.get(check.id)
                if (
                    check.resolution is ResolutionKind.REFUND_TO_ORIGINAL_METHOD
                    and resolver is not None
                    and resolver.resolve(check, identifiers)
                    and not probe.blocks(check, identifiers)
                ):
                    resolved.append(check.id)
                    continue
            except PreCheckUnavailableError:
                unavailable.append(check.id)
                continue
            blocking.append(check.id)
        return PreCheckRun(tuple(blocking), tuple(resolved), tuple(unavailable))


def blockers_of(ids: Iterable[str], declared: Sequence[PreCheck]) -> list[PreCheck]:
    """The declarations of the blocking ``ids``, for pages and the API (texts, link, kind).

    An id no longer declared (the configuration changed since) still shows its texts, without a
    link, so a blocked request always explains itself.
    """
    by_id = {c.id: c for c in declared}
    return [by_id.get(i) or PreCheck(i, ResolutionKind.WAIT) for i in ids]
