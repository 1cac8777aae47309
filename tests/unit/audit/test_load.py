"""Loading profiles: a bad file is one error naming the file and the field, never a traceback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exitright.audit.load import load_profile, load_profiles, parse_yaml, profile_from_data
from exitright.audit.profile import Profile, json_schema
from exitright.errors import ErrorCode, ExitRightError
from exitright.i18n import gettext

GOOD = """\
platform: {name: Demo shop, name_zh: 演示商城}
sector: retail
evaluation: {date: 2026-03-02, evaluator: test}
cancellation:
  channels: [in_app_page]
  taps: 3
  evidence:
    - {kind: screenshot, ref: shots/entry.png}
"""


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    """Write ``text`` to a file under ``tmp_path``."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> ExitRightError:
    """The error loading ``path`` raises."""
    with pytest.raises(ExitRightError) as info:
        load_profile(path)
    return info.value


def test_a_good_profile_loads_and_leaves_everything_unobserved_absent(tmp_path: Path) -> None:
    """Only what the file says is set; the rest is None."""
    p = load_profile(write(tmp_path, GOOD))
    assert p.cancellation is not None and p.cancellation.taps == 3
    assert p.cancellation.asks_payment is None
    assert p.verification is None and p.timing is None


def test_a_wrong_field_value_names_the_file_and_the_field(tmp_path: Path) -> None:
    """A message in both languages carries the file and the dotted field path."""
    path = write(tmp_path, GOOD.replace("taps: 3", "taps: many"))
    err = error_of(path)
    assert err.code is ErrorCode.INVALID_FILE
    assert err.params["field"] == "cancellation.taps"
    for lang in ("en", "zh-CN"):
        text = gettext(lang, err.msgid, **err.params)
        assert str(path) in text and "cancellation.taps" in text


def test_an_unknown_field_is_refused_rather_than_ignored(tmp_path: Path) -> None:
    """A typo must not silently drop an observation."""
    err = error_of(write(tmp_path, GOOD.replace("taps: 3", "tapz: 3")))
    assert err.params["field"] == "cancellation.tapz"


def test_a_finding_without_evidence_is_refused(tmp_path: Path) -> None:
    """Evidence per finding is required."""
    text = "platform: {name: x}\ncancellation: {channels: [phone], evidence: []}\n"
    assert error_of(write(tmp_path, text)).params["field"] == "cancellation.evidence"


def test_contradictory_observations_are_refused(tmp_path: Path) -> None:
    """page: false next to a page channel cannot both be true."""
    text = (
        "platform: {name: x}\ncancellation: {page: false, channels: [web_page], "
        "evidence: [{kind: note, text: seen}]}\n"
    )
    assert error_of(write(tmp_path, text)).params["field"] == "cancellation"


@pytest.mark.parametrize(
    ("text", "message_id"),
    [
        ("platform: [unclosed", "audit.error.yaml"),
        ("- just\n- a list\n", "audit.error.not_mapping"),
        ("a: &x [1]\nb: *x\n", "audit.error.aliases"),
        ("evaluation: {date: 2019-02-30}\n", "audit.error.yaml"),
    ],
)
def test_broken_yaml_is_one_clear_error(tmp_path: Path, text: str, message_id: str) -> None:
    """Syntax errors, wrong shapes, aliases and impossible dates each have their message."""
    assert error_of(write(tmp_path, text)).msgid == message_id


def test_a_missing_or_binary_file_is_one_clear_error(tmp_path: Path) -> None:
    """Missing, unreadable and non-UTF-8 files are reported, not raised as OSError."""
    assert error_of(tmp_path / "nope.yaml").msgid == "audit.error.missing"
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert error_of(binary).msgid == "audit.error.unreadable"


def test_an_empty_directory_has_no_profiles(tmp_path: Path) -> None:
    """A study over nothing says so."""
    with pytest.raises(ExitRightError) as info:
        load_profiles(tmp_path)
    assert info.value.msgid == "audit.error.no_profiles"


def test_working_days_are_counted_from_the_dates_with_the_official_calendar(
    tmp_path: Path,
) -> None:
    """2026-09-30 → 2026-10-10 spans the National Day holiday and a make-up working day."""
    text = GOOD + (
        "timing:\n  submitted_on: 2026-09-30\n  completed_on: 2026-10-10\n"
        "  evidence: [{kind: note, text: dates}]\n"
    )
    timing = load_profile(write(tmp_path, text)).timing
    assert timing is not None
    assert timing.observed_working_days == 3  # 10-08, 10-09 and the make-up Saturday 10-10
    assert timing.working_days_provisional is False


def test_working_days_in_a_year_without_calendar_data_are_provisional(tmp_path: Path) -> None:
    """Every day counts until the official data arrives, and the count says so."""
    text = GOOD + (
        "timing:\n  submitted_on: 2031-01-01\n  completed_on: 2031-01-11\n"
        "  evidence: [{kind: note, text: dates}]\n"
    )
    timing = load_profile(write(tmp_path, text)).timing
    assert timing is not None
    assert timing.observed_working_days == 10
    assert timing.working_days_provisional is True


def test_the_published_schema_describes_the_profile() -> None:
    """The schema names every finding and forbids unknown fields."""
    schema = json_schema()
    assert schema["title"] == "Profile"
    props = schema["properties"]
    assert isinstance(props, dict) and "cancellation" in props and "recycled_number" in props
    assert schema["additionalProperties"] is False


YAML_TEXT = st.text(
    alphabet=st.sampled_from(list("abc:-[]{}&*!|>'\"#%@`,?\n 0123456789.platformname")),
    max_size=120,
)
PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.dates(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["platform", "name", "cancellation", "evidence", "taps", "kind", "x"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=YAML_TEXT)
def test_arbitrary_text_either_loads_or_raises_exitright_error(tmp_path: Path, text: str) -> None:
    """Fuzz: any text gives a profile or an ExitRightError — nothing else escapes."""
    path = write(tmp_path, text)
    try:
        assert isinstance(load_profile(path), Profile)
    except ExitRightError as exc:
        assert exc.code is ErrorCode.INVALID_FILE
        assert str(path) == exc.params["file"]


@settings(max_examples=300)
@given(data=PLAIN)
def test_arbitrary_yaml_structures_either_load_or_raise_exitright_error(data: object) -> None:
    """Fuzz the validator with structured YAML: the error names a field or the top level."""
    text = yaml.safe_dump(data)
    path = Path("fuzz.yaml")
    try:
        profile_from_data(parse_yaml(text, path), path)
    except ExitRightError as exc:
        assert exc.msgid.startswith("audit.error.")
        if exc.msgid == "audit.error.invalid_field":
            assert exc.params["field"]


def test_dates_come_back_as_dates() -> None:
    """YAML dates are dates in the model."""
    p = profile_from_data(yaml.safe_load(GOOD), Path("x.yaml"))
    assert p.evaluation.date == dt.date(2026, 3, 2)
