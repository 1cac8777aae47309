"""The requests catalog: both languages, the same keys, and a text for every code the core uses."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from exitright.cancellation import errors
from exitright.cancellation.calendar_data import parse_arrangement
from exitright.cancellation.cooling_off import CoolingOffPolicy, validate_timing
from exitright.cancellation.deadlines import Regime, deadline_policy
from exitright.cancellation.errors import DomainError
from exitright.cancellation.model import Action, Actor, ActorKind, Request, RequestKind, State
from exitright.cancellation.outcomes import APPEAL_ROUTES, RejectionReason
from exitright.cancellation.prechecks import DEFAULT_PRE_CHECKS, parse_pre_checks
from exitright.clock import FixedClock
from exitright.identity import otp

from .catalogs import catalog_keys, messages


def _used_keys() -> set[str]:
    """Every key the core refers to."""
    keys = {f"requests.state.{s.value}" for s in State}
    keys |= {f"requests.kind.{k.value}" for k in RequestKind}
    keys |= {f"requests.action.{a.value}" for a in Action}
    keys |= {f"requests.actor.{a.value}" for a in ActorKind}
    keys |= {r.message_key for r in RejectionReason}
    keys |= {APPEAL_ROUTES[r].key for r in Regime}
    keys |= {k for c in DEFAULT_PRE_CHECKS for k in (c.explanation_key, c.resolution_key)}
    for module in (errors, otp):
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type) and hasattr(obj, "message_id"):
                keys.add(obj.message_id)
    keys |= {f"identity.otp.{r.value}" for r in otp.VerifyResult}
    keys |= {f"identity.channel.{c.value}" for c in otp.Channel}
    return keys


def test_both_languages_have_the_same_keys() -> None:
    """A key missing in one language would show its raw id on a page."""
    assert catalog_keys("en") == catalog_keys("zh_CN")


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_every_key_the_core_uses_has_a_text(lang: str) -> None:
    """States, reasons, appeal routes, pre-checks and error messages all exist."""
    assert _used_keys() - catalog_keys(lang) == set()


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_no_text_is_empty(lang: str) -> None:
    """An empty translation would render as nothing."""
    assert all(text.strip() for text in messages(lang).values())


def test_placeholders_match_between_languages() -> None:
    """A {name} in English is a {name} in Chinese, so formatting never fails in one language."""
    pattern = re.compile(r"\{(\w+)\}")
    en, zh = messages("en"), messages("zh_CN")
    for key in en:
        assert set(pattern.findall(en[key])) == set(pattern.findall(zh[key])), key


def test_appeal_routes_name_the_court_and_the_authority() -> None:
    """PIPL Art. 50 in cn, supervisory authority and courts in gdpr."""
    zh, en = messages("zh_CN"), messages("en")
    assert "人民法院" in zh["requests.appeal.cn"] and "第五十条" in zh["requests.appeal.cn"]
    assert (
        "supervisory authority" in en["requests.appeal.gdpr"]
        and "courts" in en["requests.appeal.gdpr"]
    )


def test_the_no_payment_notice_exists_in_both_languages() -> None:
    """Every cancellation page says the platform never asks for money."""
    assert "never ask you to pay" in messages("en")["requests.no_payment_notice"]
    assert "付款" in messages("zh_CN")["requests.no_payment_notice"]


def _raised_errors() -> list[DomainError | otp.OtpError]:
    """One real instance of each error the core raises, with the params it really carries."""
    found: list[DomainError | otp.OtpError] = []
    clock = FixedClock(datetime(2025, 1, 6, 2, tzinfo=UTC))
    policy = deadline_policy("cn")
    request = Request.submit(
        request_id="r",
        kind=RequestKind.CANCEL,
        subject_ref="psn",
        actor=Actor.user(),
        clock=clock,
        deadlines=policy,
    )
    attempts: list[Callable[[], object]] = [
        lambda: request.complete(Actor.system(), clock),
        lambda: request.revoke(Actor.operator("op"), clock),
        lambda: request.extend_deadline(policy, "x", Actor.operator("op"), clock, days=3),
        lambda: validate_timing(policy, CoolingOffPolicy(30)),
        lambda: parse_pre_checks([{"id": "fee", "resolution": "payment"}]),
        lambda: parse_arrangement("format = 1"),
        lambda: deadline_policy("mars"),
        lambda: otp.choose_channel("sms", {"email"}),
        lambda: otp.Challenge.issue(
            "c", otp.Channel.SMS, b"k" * 16, clock, previous_sends=[clock.now()]
        ),
    ]
    request.verify(Actor.system(), clock)
    request.start_cooling_off(CoolingOffPolicy(7), Actor.system(), clock)
    attempts.append(lambda: request.execute(Actor.system(), clock))
    for attempt in attempts:
        try:
            attempt()
        except (DomainError, otp.OtpError) as exc:
            found.append(exc)
    return found


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_every_raised_error_formats_its_message_with_the_params_it_carries(lang: str) -> None:
    """No error shows a raw {placeholder} or its key instead of a sentence."""
    errors_seen = _raised_errors()
    assert len(errors_seen) == 10
    for exc in errors_seen:
        mapped = exc.to_exitright_error()
        text = messages(lang)[mapped.msgid].format(**mapped.params)
        assert "{" not in text and text.strip()
