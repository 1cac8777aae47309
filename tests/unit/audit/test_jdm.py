"""The JustDeleteMe import: third-party labels become evidence for the rules they speak to."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from exitright.audit.jdm import NOTICE, export, jdm_meta, jdm_profiles, path_segments, site_profile
from exitright.audit.load import load_profiles, load_study_meta
from exitright.audit.profile import Profile
from exitright.audit.rules import BY_ID, assess
from exitright.audit.study import build_study
from exitright.audit.study_report import render_study
from exitright.audit.verdict import Verdict
from exitright.errors import ExitRightError

SITES = Path("/work/shared/datasets/justdeleteme/sites.json")
needs_sites = pytest.mark.skipif(not SITES.is_file(), reason=f"{SITES} is not on this machine")


def verdict(site: dict[str, Any], rule_id: str) -> Verdict:
    """The verdict of one rule on one imported site."""
    return assess(BY_ID[rule_id], Profile.model_validate(site_profile(site))).verdict


def test_a_delete_button_is_self_service() -> None:
    """easy → a self-service web page: CN-35273-8.5-simple passes, marked third-party."""
    site = {
        "name": "A",
        "url": "https://a.example",
        "difficulty": "easy",
        "notes": "Profile ⮕ settings ⮕ delete account ⮕ confirm",
    }
    p = Profile.model_validate(site_profile(site))
    assert p.cancellation is not None
    assert (p.cancellation.steps, p.cancellation.taps) == (4, 3)
    result = assess(BY_ID["CN-35273-8.5-simple"], p)
    assert result.verdict is Verdict.PASS and result.third_party
    assert verdict(site, "CN-UX-entry-taps") is Verdict.PASS


def test_customer_service_only_fails_simple() -> None:
    """hard with an e-mail address → only e-mail: fails simple and conditions."""
    site = {
        "name": "B",
        "url": "https://b.example",
        "difficulty": "hard",
        "email": "privacy@b.example",
    }
    assert verdict(site, "CN-35273-8.5-simple") is Verdict.FAIL
    assert verdict(site, "CN-ECL-24-conditions") is Verdict.FAIL


def test_impossible_deletion_fails_effectiveness() -> None:
    """impossible → no cancellation at all."""
    site = {"name": "C", "url": "https://c.example", "difficulty": "impossible"}
    assert verdict(site, "CN-RD-6-effective") is Verdict.FAIL


def test_everything_the_labels_do_not_speak_to_is_not_assessed() -> None:
    """Deletion outcome, verification, timing, recycled numbers: not assessed."""
    site = {"name": "D", "url": "https://d.example", "difficulty": "easy"}
    for rule_id in (
        "CN-ECL-24-delete",
        "CN-35273-8.5-verify",
        "CN-RD-6-deadline",
        "CN-ID-recycled",
        "CN-UX-no-payment",
    ):
        assert verdict(site, rule_id) is Verdict.NOT_ASSESSED


def test_a_path_needs_arrows_between_steps() -> None:
    """Prose notes are not a path; arrow-separated ones are."""
    assert path_segments("Email them and wait.") == []
    assert path_segments("Settings > Account > Delete") == ["Settings", "Account", "Delete"]


def test_a_malformed_directory_is_one_clear_error(tmp_path: Path) -> None:
    """Not a list, or an unknown difficulty, is an ExitRightError naming the file."""
    bad = tmp_path / "sites.json"
    bad.write_text(json.dumps([{"name": "x", "difficulty": "trivial"}]), encoding="utf-8")
    with pytest.raises(ExitRightError) as info:
        jdm_profiles(bad)
    assert info.value.msgid == "audit.error.jdm_format"
    assert info.value.params["file"] == str(bad)


@needs_sites
def test_the_whole_directory_imports_and_its_study_runs_in_seconds() -> None:
    """2,591 sites become profiles and a study; the time is printed for the record, not asserted."""
    start = time.perf_counter()
    profiles = jdm_profiles(SITES)
    study = build_study(profiles, jdm_meta())
    html = render_study(study, "html", "en")
    elapsed = time.perf_counter() - start
    print(f"JustDeleteMe study: {len(profiles)} sites in {elapsed:.2f} s")
    assert len(profiles) == 2591
    easy = next(g for g in study.labels["jdm.difficulty"] if g.sector == "easy")
    assert easy.n == 1315
    assert easy.rates["page"].yes == 1315  # every "easy" site has a delete button
    assert sum(study.steps.values()) > 0
    assert "Robb Lewis" in html  # the MIT notice travels with the data


@needs_sites
def test_exported_profiles_load_back_with_the_licence_notice(tmp_path: Path) -> None:
    """import-jdm writes YAML profiles that the loader reads back identically."""
    profiles = jdm_profiles(SITES)[:50]
    assert export(profiles, tmp_path) == 50
    assert (tmp_path / "LICENSE-JustDeleteMe.txt").read_text(encoding="utf-8") == NOTICE
    loaded = load_profiles(tmp_path)

    def key(p: Profile) -> str:
        return p.model_dump_json()

    assert sorted(loaded, key=key) == sorted(profiles, key=key)
    meta = load_study_meta(tmp_path)
    assert meta is not None and meta.notice == NOTICE
