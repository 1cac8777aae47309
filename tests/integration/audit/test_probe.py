"""The live probe over real HTTP on loopback: it fails the non-compliant reference platform on
the right rules and passes the ExitRight demo (with a 0-day cooling-off) on what it can observe.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from typer.testing import CliRunner

from exitright.audit.load import load_profile
from exitright.audit.probe import (
    AnyOf,
    CommandCodes,
    Observations,
    PageCodes,
    ProbeConfig,
    build_profile,
    run_probe,
)
from exitright.audit.probe.client import Browser
from exitright.audit.probe.codes import wait_for_new_code
from exitright.audit.profile import (
    FINDINGS,
    Channel,
    PreconditionKind,
    Profile,
    RecycledBehaviour,
    Result,
    VerificationKind,
)
from exitright.audit.score import score
from exitright.audit.verdict import Verdict
from exitright.cli import app as cli
from exitright.clock import SystemClock
from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.demo.schema import orders, users
from exitright.web import auth
from tests.integration.audit.noncompliant_platform import serve_noncompliant
from tests.integration.privacy.conftest import privacy_server

REDIS_DB = 12  # the demo map's Redis store; other suites use 4–9, 11 and 13
TEST_PHONE = "13912345678"
WAIT = 60.0


def verdicts(profile: Profile) -> dict[str, Verdict]:
    """Rule id → verdict on the profile's scorecard."""
    return {r.rule.id: r.verdict for r in score(profile).results}


def test_the_probe_fails_the_noncompliant_platform_on_the_right_rules() -> None:
    """Customer-service form, ID photo, 30-day promise, phone unbound, orders to the next holder."""
    with serve_noncompliant(handle_after=1.0) as url, Browser(url) as reader:
        config = ProbeConfig(
            base_url=url,
            phone=TEST_PHONE,
            codes=PageCodes(reader, [f"{url}dev/sms"]),
            platform_name="Non-compliant reference shop",
            wait_seconds=WAIT,
            poll_seconds=0.3,
        )
        result = run_probe(config)
    p, o = result.profile, result.observations
    assert o.signed_in and o.order_placed and o.order_marks, o.notes
    # What was observed, field by field.
    assert p.cancellation is not None and p.cancellation.channels == [Channel.CUSTOMER_SERVICE]
    assert p.cancellation.taps == 2 and p.cancellation.label == "账号注销申请"
    assert p.verification is not None and p.verification.asked == [VerificationKind.ID_PHOTO]
    assert p.verification.registration_collected == ["phone"]
    assert p.timing is not None and p.timing.promised_working_days == 30
    assert p.preconditions is not None
    assert [i.kind for i in p.preconditions.items] == [PreconditionKind.DOCUMENTS]
    assert p.outcome is not None and p.outcome.result is Result.PHONE_UNBOUND_ONLY
    assert p.outcome.old_login_fails is False and p.outcome.same_phone_empty_account is False
    assert p.recycled_number is not None
    assert p.recycled_number.behaviour is RecycledBehaviour.OLD_ORDERS_VISIBLE
    # Never guessed: nothing the probe cannot see.
    for absent in (
        "disclosure",
        "retention",
        "rights",
        "consent",
        "third_parties",
        "contact_after",
    ):
        assert getattr(p, absent) is None
    v = verdicts(p)
    for rule in (
        "CN-35273-8.5-simple",
        "CN-35273-8.5-verify",
        "CN-ECL-24-conditions",
        "CN-RD-6-deadline",
        "CN-RD-6-effective",
        "CN-ECL-24-delete",
        "CN-ID-recycled",
    ):
        assert v[rule] is Verdict.FAIL, (rule, v[rule])
    assert score(p).grade == "F"


def _customers(settings: Settings) -> tuple[str, str]:
    """Two seeded, active customers with orders; the second has not signed in today (CST)."""
    midnight = datetime.combine(datetime.now(ZoneInfo("Asia/Shanghai")).date(), time())
    midnight_utc = (midnight - timedelta(hours=8)).replace(tzinfo=None)
    demo = make_engine(settings.demo_url)
    try:
        with demo.connect() as conn:
            phones = (
                conn.execute(
                    select(users.c.phone)
                    .join(orders, orders.c.user_id == users.c.id)
                    .where(
                        users.c.status == "active",
                        users.c.phone.is_not(None),
                        users.c.last_login_at < midnight_utc,
                    )
                    .group_by(users.c.id, users.c.phone)
                    .order_by(users.c.id)
                    .limit(2)
                )
                .scalars()
                .all()
            )
    finally:
        demo.dispose()
    assert len(phones) == 2
    return str(phones[0]), str(phones[1])


def probe_demo(settings: Settings, out: Path) -> Profile:
    """Run `exitright audit probe` on the demo shop (0-day cooling-off); the profile it wrote."""
    with privacy_server(settings, cooling_off_days=0, redis_db=REDIS_DB) as live:
        phone, recycled = _customers(live.settings)
        _key, token = auth.create_key(live.app.state.engine, SystemClock(), "probe", ["admin"])
        run = CliRunner().invoke(
            cli,
            [
                "audit", "probe", f"{live.url}/shop/",
                "--phone", phone,
                "--code-source", "/shop/dev/codes",
                "--code-source", "/privacy/dev/codes",
                "--api-key", token,
                "--recycled-phone", recycled,
                "--name", "ExitRight demo shop",
                "--wait", str(WAIT),
                "--format", "json",
                "--out", str(out),
            ],
        )  # fmt: skip
    assert run.exit_code == 0, run.output
    card = json.loads(run.stdout)
    assert card["platform"]["name"] == "ExitRight demo shop" and card["grade"]
    return load_profile(out)


def test_the_probe_passes_the_exitright_demo(settings: Settings, tmp_path: Path) -> None:
    """Every cancellation rule the probe can observe passes on the demo."""
    profile = probe_demo(settings, tmp_path / "demo.yaml")
    c, o = profile.cancellation, profile.outcome
    assert c is not None and c.channels == [Channel.WEB_PAGE] and c.taps == 2
    assert c.web_logged_out is True and c.asks_payment is False
    assert profile.verification is not None
    assert profile.verification.asked == [VerificationKind.SMS_CODE]
    assert profile.timing is not None and profile.timing.promised_working_days == 15
    assert profile.timing.observed_working_days == 0
    assert o is not None and o.result is Result.DELETED
    assert o.old_login_fails is True and o.same_phone_empty_account is True
    assert o.retained_listed_with_basis is True
    v = verdicts(profile)
    for rule in (
        "CN-35273-8.5-simple",
        "CN-35273-8.5-verify",
        "CN-ECL-24-conditions",
        "CN-RD-6-deadline",
        "CN-RD-6-effective",
        "CN-ECL-24-delete",
        "CN-UX-entry-taps",
        "CN-35273-8.7-30days",
    ):
        assert v[rule] is Verdict.PASS, (rule, v[rule], profile.notes)
    # The reassigned-number simulation ran and was judged (see the next test for its verdict).
    assert profile.recycled_number is not None and v["CN-ID-recycled"] is not Verdict.NOT_ASSESSED
    # Never guessed: what a black-box probe cannot see stays absent.
    for absent in (
        "disclosure",
        "retention",
        "rights",
        "consent",
        "third_parties",
        "contact_after",
    ):
        assert getattr(profile, absent) is None


def test_a_reassigned_number_does_not_open_the_demo_account(
    settings: Settings, tmp_path: Path
) -> None:
    """CN-ID-recycled: marked reassigned via /v1/identifiers/recycled, the number's code must
    reach a fresh account in the shop, not the old one with its orders."""
    profile = probe_demo(settings, tmp_path / "demo.yaml")
    assert profile.recycled_number is not None
    assert profile.recycled_number.behaviour is RecycledBehaviour.FRESH_ACCOUNT
    assert verdicts(profile)["CN-ID-recycled"] is Verdict.PASS


def test_the_probe_needs_a_code_source() -> None:
    """Without a way to read codes the command refuses in one line, exit 2."""
    run = CliRunner().invoke(cli, ["audit", "probe", "http://127.0.0.1:9/", "--phone", TEST_PHONE])
    assert run.exit_code == 2
    assert "--code-source" in run.output


def test_the_command_writes_a_profile_and_a_markdown_scorecard(tmp_path: Path) -> None:
    """The command on the non-compliant platform: the profile loads back; the card cites rules."""
    out = tmp_path / "nc.yaml"
    with serve_noncompliant(handle_after=0.5) as url:
        run = CliRunner().invoke(
            cli,
            ["audit", "probe", url, "--phone", TEST_PHONE, "--code-source", "/dev/sms",
             "--wait", "30", "--format", "md", "--out", str(out)],
        )  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "CN-35273-8.5-simple" in run.stdout and "CN-ID-recycled" in run.stdout
    profile = load_profile(out)
    assert profile.evaluation.method == "probe" and score(profile).grade == "F"


def test_an_sms_inbox_hook_supplies_the_codes(tmp_path: Path) -> None:
    """--code-command: a hook printing the texts received for $EXITRIGHT_PROBE_PHONE."""
    hook = tmp_path / "inbox.py"
    hook.write_text(
        "import os\n"
        "p = os.environ['EXITRIGHT_PROBE_PHONE']\n"
        "print(f'[Shop] {p[:3]}****{p[-4:]} code 482913, valid 5 min, sent 12:01:02')\n"
        "print(f'[Shop] {p} code 105577')\n",
        encoding="utf-8",
    )
    source = CommandCodes(f'"{sys.executable}" "{hook}"')
    assert source.codes(TEST_PHONE) == ["482913", "105577"]
    assert wait_for_new_code(source, TEST_PHONE, ["482913"], timeout=1) == "105577"
    assert wait_for_new_code(source, TEST_PHONE, source.codes(TEST_PHONE), timeout=0.3) is None


def test_what_was_not_observed_stays_absent() -> None:
    """A probe that could not even sign in writes a profile with no finding at all."""
    config = ProbeConfig(base_url="http://127.0.0.1:9/", phone=TEST_PHONE, codes=AnyOf([]))
    obs = Observations(home_url=config.base_url, notes=["The home page answered HTTP 502."])
    profile = build_profile(config, obs, datetime.now(ZoneInfo("UTC")))
    assert all(profile.finding(name) is None for name in FINDINGS)
    assert all(r.verdict is Verdict.NOT_ASSESSED for r in score(profile).results)
    assert score(profile).grade == "—"
