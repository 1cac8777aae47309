"""An upstream purge opens one verified cancellation per jti, through the request use cases."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pytest

from exitright.cancellation.model import ActorKind, State
from exitright.cancellation.ports import Identifiers, Ports
from exitright.clock import FixedClock
from exitright.errors import ExitRightError
from exitright.protocols import set as sets
from exitright.protocols.config import RecipientConfig, TrustedIssuer
from exitright.protocols.receiver import UpstreamPurge
from exitright.protocols.upstream import (
    UNKNOWN_SUBJECT,
    WorkflowCancellationStarter,
    issuer_owner,
    subject_identifiers,
)
from tests.unit.cancellation.test_services import START, FakeEraser, FakeUnitOfWork, make_ports

IDP = "https://id.example"


@dataclass
class FakeWorkflow:
    """The request workflow on fakes, with the accounts that exist."""

    unit: FakeUnitOfWork
    ports: Ports
    accounts: set[tuple[str, str]] = field(default_factory=set)

    def uow(self, *, readonly: bool = False) -> FakeUnitOfWork:
        return self.unit

    def subject_exists(self, identifiers: Identifiers) -> bool:
        return (identifiers.kind, identifiers.value) in self.accounts


def purge(jti: str, sub_id: dict[str, Any], fmt: str = "phone_number") -> UpstreamPurge:
    """An accepted account-purged SET from the identity provider."""
    return UpstreamPurge(IDP, jti, sub_id, "h", 0, fmt)  # type: ignore[arg-type]  # any format


@pytest.fixture
def workflow() -> FakeWorkflow:
    ports = make_ports(FixedClock(START), FakeEraser())
    return FakeWorkflow(FakeUnitOfWork(), ports, {("phone", "+8613800138000")})


def test_a_purge_opens_one_cancellation_verified_by_the_issuer_per_jti(
    workflow: FakeWorkflow,
) -> None:
    """Twice the same jti: one request, submitted and verified by api_key set:<issuer>."""
    starter = WorkflowCancellationStarter(lambda: workflow)
    sub = sets.subject_id("phone_number", "13800138000")
    first = starter.start_cancellation(workflow.ports.clock, purge("j-1", sub))
    again = starter.start_cancellation(workflow.ports.clock, purge("j-1", sub))
    (record,) = workflow.unit.committed_rows.values()
    assert first == again == f"opened:{record.request.id}"
    assert record.request.state is State.VERIFIED
    assert record.owner == issuer_owner(IDP) and record.idempotency_key == "j-1"
    assert record.identifiers == Identifiers("phone", "+8613800138000")
    assert [(s.actor.kind, s.actor.id) for s in record.request.history] == [
        (ActorKind.API_KEY, f"set:{IDP}"),
        (ActorKind.API_KEY, f"set:{IDP}"),
    ]


def test_an_unknown_subject_opens_nothing(workflow: FakeWorkflow) -> None:
    """No such account: the outcome says so, no request and no ledger entry exist."""
    starter = WorkflowCancellationStarter(lambda: workflow)
    sub = sets.subject_id("phone_number", "13900000000")
    assert starter.start_cancellation(workflow.ports.clock, purge("j-2", sub)) == UNKNOWN_SUBJECT
    assert workflow.unit.committed_rows == {} and workflow.unit.committed_entries == []


@pytest.mark.parametrize(
    ("fmt", "sub_id", "expected"),
    [
        ("opaque", {"format": "opaque", "id": " 42 "}, Identifiers("user_id", "42")),
        ("opaque", {"format": "iss_sub", "iss": IDP, "sub": "42"}, Identifiers("user_id", "42")),
        (
            "phone_number",
            {"format": "phone_number", "phone_number": "+86 138-0013-8000"},
            Identifiers("phone", "+8613800138000"),
        ),
        (
            "email",
            {"format": "email", "email": "a@example.com"},
            Identifiers("email", "a@example.com"),
        ),
    ],
)
def test_the_subject_is_named_the_way_the_issuer_is_configured(
    fmt: str, sub_id: dict[str, Any], expected: Identifiers
) -> None:
    """opaque (our account id), phone_number (E.164) or email, per the issuer's setting."""
    assert subject_identifiers(fmt, sub_id) == expected


@pytest.mark.parametrize(
    ("fmt", "sub_id"),
    [
        ("phone_number", {"format": "email", "email": "a@example.com"}),
        ("opaque", {"format": "phone_number", "phone_number": "+8613800138000"}),
        ("phone_number", {"format": "phone_number", "phone_number": "12"}),
        ("email", {"format": "email", "email": "not-an-address"}),
        ("opaque", {"format": "opaque", "id": ""}),
    ],
)
def test_a_subject_the_issuer_should_not_send_is_an_invalid_request(
    fmt: str, sub_id: dict[str, Any]
) -> None:
    """A format other than the configured one, or an unusable value: RFC 8935 invalid_request."""
    with pytest.raises(sets.SetError) as caught:
        subject_identifiers(fmt, sub_id)
    assert caught.value.err == "invalid_request"


def test_an_issuer_opens_no_cancellation_unless_configured_to() -> None:
    """Trusting an issuer (a carrier) does not let it cancel accounts."""
    issuer = TrustedIssuer(issuer=IDP, jwks={"keys": []})
    assert (issuer.opens_cancellation, issuer.subject_format) == (False, "opaque")


@dataclass
class MapRecipient:
    """A data-map recipient entry as the loader builds it."""

    name: str = "couriers"
    endpoint: str = "https://courier.example/events"
    push_token_env: str | None = "COURIER_TOKEN"


def test_a_data_map_recipient_s_push_token_env_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """from_map reads push_token_env from the map entry itself (no override needed)."""
    monkeypatch.setenv("COURIER_TOKEN", "t0ken")
    config = RecipientConfig.from_map(MapRecipient())
    assert config.push_token_env == "COURIER_TOKEN"
    assert config.push_headers() == {"Authorization": "Bearer t0ken"}


def test_a_use_case_refusal_reaches_the_issuer_as_the_error_model(
    workflow: FakeWorkflow,
) -> None:
    """No executor for cancellations: an ExitRightError (4xx), never an unhandled exception."""
    workflow.ports = dataclasses.replace(workflow.ports, eraser=None)
    starter = WorkflowCancellationStarter(lambda: workflow)
    sub = sets.subject_id("phone_number", "13800138000")
    with pytest.raises(ExitRightError) as caught:
        starter.start_cancellation(workflow.ports.clock, purge("j-3", sub))
    assert caught.value.http_status < 500
    assert workflow.unit.committed_rows == {}
