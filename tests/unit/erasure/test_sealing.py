"""An open plan's identifiers and pinned keys are sealed at rest, bound to the plan."""

from __future__ import annotations

import json

import pytest

from exitright.connectors.base import SubjectIds
from exitright.erasure.sealing import PlanSealer, PlanSecrets
from exitright.errors import ExitRightError

IDS = SubjectIds(user_id=7, phone="13800000001", email="a@x.cn", id_number="11010519491231002X")


def test_sealed_identifiers_open_again_under_the_same_plan() -> None:
    sealer = PlanSealer(b"k" * 32)
    stored = sealer.seal("plan-1", PlanSecrets(IDS, {"db": {"address": [1, 2]}}))
    secrets = sealer.open("plan-1", stored)
    assert secrets.ids == IDS
    assert secrets.pins == {"db": {"address": [1, 2]}}


def test_the_stored_value_holds_no_identifier_in_plain_text() -> None:
    stored = PlanSealer(b"k" * 32).seal("plan-1", PlanSecrets(IDS))
    text = json.dumps(stored)
    for value in ("13800000001", "a@x.cn", "11010519491231002X"):
        assert value not in text
    assert set(stored) == {"v", "sealed"}


def test_a_sealed_value_copied_to_another_plan_or_opened_with_another_key_is_refused() -> None:
    stored = PlanSealer(b"k" * 32).seal("plan-1", PlanSecrets(IDS))
    with pytest.raises(ExitRightError) as err:
        PlanSealer(b"k" * 32).open("plan-2", stored)
    assert err.value.message_id == "erasure.plan_unreadable"
    with pytest.raises(ExitRightError):
        PlanSealer(b"x" * 32).open("plan-1", stored)


def test_a_plan_written_before_sealing_still_opens_and_an_ended_plan_has_nothing() -> None:
    sealer = PlanSealer(b"k" * 32)
    assert sealer.open("old", IDS.to_json()).ids == IDS
    assert sealer.open("done", None).ids == SubjectIds()
