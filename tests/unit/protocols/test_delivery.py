"""Reading RFC 8935 answers, the backoff policy, and recipients built from the data map."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from exitright.datamap.model import Recipient
from exitright.protocols.config import ProtocolsConfig, RecipientConfig, TrustedIssuer
from exitright.protocols.push import RetryPolicy, interpret

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_202_acknowledges() -> None:
    """Only 202 Accepted is an acknowledgement (RFC 8935 §2.2)."""
    assert interpret(httpx.Response(202), NOW).kind == "acknowledged"
    assert interpret(httpx.Response(200), NOW).kind == "retry"


def test_400_with_err_is_a_rejection_with_its_code() -> None:
    """400 with {"err", "description"} is a final answer, recorded with the code."""
    outcome = interpret(
        httpx.Response(400, json={"err": "invalid_audience", "description": "not us"}), NOW
    )
    assert (outcome.kind, outcome.err, outcome.description) == (
        "rejected",
        "invalid_audience",
        "not us",
    )
    assert interpret(httpx.Response(400, text="<html>"), NOW).err == "invalid_request"


def test_503_is_retried_and_retry_after_is_read_in_both_forms() -> None:
    """Seconds or an HTTP date; a server error is never final."""
    seconds = interpret(httpx.Response(503, headers={"Retry-After": "120"}), NOW)
    assert (seconds.kind, seconds.retry_after) == ("retry", timedelta(seconds=120))
    dated = interpret(
        httpx.Response(429, headers={"Retry-After": "Sat, 28 Nov 2026 12:05:00 GMT"}), NOW
    )
    assert dated.retry_after == timedelta(minutes=5)
    assert interpret(httpx.Response(401), NOW).kind == "retry"


@given(attempt=st.integers(1, 80), seed=st.integers(0, 2**32))
def test_backoff_grows_exponentially_with_jitter_and_stays_under_the_cap(
    attempt: int, seed: int
) -> None:
    """Attempt n waits between half and all of min(cap, base·2ⁿ⁻¹)."""
    policy = RetryPolicy(timedelta(seconds=30), timedelta(hours=6), 40)
    step = min(6 * 3600, 30 * 2 ** (attempt - 1))
    wait = policy.delay(attempt, random.Random(seed)).total_seconds()
    assert step / 2 <= wait <= step


def test_a_recipient_is_built_from_the_map_entry_and_overrides() -> None:
    """Endpoint from the map, everything else from the protocols file; aud defaults to it."""
    entry = Recipient(name="couriers", kind="courier", endpoint="https://courier.example/e")
    config = RecipientConfig.from_map(entry, {"subject_format": "phone_number"})
    assert config.endpoint == "https://courier.example/e"
    assert config.aud == "https://courier.example/e"
    assert config.delivery == "push"
    assert config.ack_deadline == timedelta(hours=72)
    polled = ProtocolsConfig(recipients={"merchants": {"delivery": "poll"}}).recipient(
        Recipient(name="merchants", kind="merchant")
    )
    assert (polled.delivery, polled.aud) == ("poll", "merchants")


def test_push_without_an_endpoint_and_untrustworthy_issuers_are_refused() -> None:
    """A misconfiguration fails when the configuration is read, not at delivery time."""
    with pytest.raises(ValidationError, match="needs an endpoint"):
        RecipientConfig(name="x")
    with pytest.raises(ValidationError, match="asymmetric"):
        TrustedIssuer(issuer="https://c", jwks={"keys": []}, algorithms=["HS256"])
    with pytest.raises(ValidationError, match="exactly one"):
        TrustedIssuer(issuer="https://c")
