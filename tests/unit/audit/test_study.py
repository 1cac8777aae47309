"""Studies: the 2019 ECRC reproduction, and the report formats."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from exitright.audit.load import load_profiles, load_study_meta
from exitright.audit.study import Study, build_study
from exitright.audit.study_report import render_study
from exitright.audit.verdict import Verdict

ECRC = Path(__file__).resolve().parents[3] / "studies" / "ecrc-2019"


@pytest.fixture(scope="module")
def ecrc() -> Study:
    """The 2019 study, scored from its 40 profiles."""
    return build_study(load_profiles(ECRC), load_study_meta(ECRC))


def test_the_2019_study_has_forty_platforms_ten_per_sector(ecrc: Study) -> None:
    """A consistent 4 × 10 assignment."""
    assert len(ecrc.cards) == 40
    assert {s.sector: s.n for s in ecrc.sectors} == {
        "retail": 10,
        "life_services": 10,
        "cross_border": 10,
        "fintech": 10,
    }


def test_fifteen_of_forty_have_page_cancellation(ecrc: Study) -> None:
    """The headline: 15 of 40 = 37.5 %, computed from the profiles."""
    page = ecrc.rates["page"]
    assert (page.yes, page.no, page.unknown) == (15, 25, 0)
    assert page.share == 0.375


def test_every_life_services_platform_is_cancellable(ecrc: Study) -> None:
    """Life services: all 10 can be cancelled."""
    life = next(s for s in ecrc.sectors if s.sector == "life_services")
    assert life.rates["cancellable"].yes == 10


def test_only_alipay_and_baidu_wallet_have_fintech_page_cancellation(ecrc: Study) -> None:
    """Fintech: page cancellation only at Alipay and Baidu Wallet; 5 cancellable is consistent."""
    fin = next(s for s in ecrc.sectors if s.sector == "fintech")
    assert fin.names["page"] == ["Alipay", "Baidu Wallet"]
    cancellable = fin.rates["cancellable"]
    assert cancellable.yes <= 5 <= cancellable.yes + cancellable.unknown


def test_every_claim_of_the_article_is_reproduced_or_consistent(ecrc: Study) -> None:
    """No claim is contradicted by the profiles; the headline ones are reproduced exactly."""
    statuses = [c.status for c in ecrc.claims]
    assert "contradicted" not in statuses
    assert statuses.count("reproduced") >= 4


def test_jd_is_pc_only_and_the_customer_service_only_ones_fail_simple(ecrc: Study) -> None:
    """The conditions table names JD (PC only) and the eight customer-service-only platforms."""
    by_text = {c.because.en: c.platforms for c in ecrc.conditions}
    assert by_text["Cancellation only on the PC (desktop) side."] == ["JD.com"]
    cs = by_text["Cancellation only through customer service."]
    assert sorted(cs) == sorted(
        ["Dangdang", "Damai", "Ctrip", "Amazon China", "Ymatou", "Babygezi", "Xiji", "PPDai"]
    )


def test_unidentified_names_say_so_in_their_profiles(ecrc: Study) -> None:
    """Garbled names that cannot be identified are marked, with a note."""
    unsure = [
        c.profile.platform
        for c in ecrc.cards
        if c.profile.platform.identification is not None
        and c.profile.platform.identification.value in ("uncertain", "unidentified")
    ]
    assert len(unsure) >= 4
    assert all(p.identification_note for p in unsure)


def test_nothing_beyond_the_article_is_assessed(ecrc: Study) -> None:
    """Only the cancellation finding is observed; every assessed rule rests on it alone."""
    for card in ecrc.cards:
        for r in card.results:
            if r.verdict is not Verdict.NOT_ASSESSED:
                assert r.assessment.findings == ("cancellation",)


def test_the_html_report_is_self_contained_with_inline_svg_charts(ecrc: Study) -> None:
    """No script, no external URL for styles or images; bar charts as inline SVG."""
    html = render_study(ecrc, "html", "en")
    assert html.count("<svg") >= 2
    assert "<script" not in html
    assert not re.search(r"<(link|img)\b", html)
    assert "37.5 %" in html


def test_the_chinese_report_reproduces_the_headline(ecrc: Study) -> None:
    """zh-CN Markdown: 40 个中 15 个（37.5 %）."""
    assert "40 个中 15 个（37.5 %）" in render_study(ecrc, "md", "zh-CN")


def test_csv_and_json_carry_the_underlying_table(ecrc: Study) -> None:
    """One CSV row per platform with every rule's verdict; JSON rates match."""
    rows = list(csv.DictReader(io.StringIO(render_study(ecrc, "csv", "en"))))
    assert len(rows) == 40
    assert sum(r["page"] == "True" for r in rows) == 15
    assert "CN-35273-8.5-simple" in rows[0]
    data = json.loads(render_study(ecrc, "json", "en"))
    assert data["rates"]["page"]["share"] == 0.375


def test_the_study_is_deterministic(ecrc: Study) -> None:
    """Building twice renders the same report."""
    again = build_study(load_profiles(ECRC), load_study_meta(ECRC))
    assert render_study(again, "json", "en") == render_study(ecrc, "json", "en")


def test_chart_labels_and_platform_names_are_escaped() -> None:
    """A hostile platform name cannot inject markup into the HTML report."""
    from exitright.audit.profile import Profile
    from exitright.audit.svg import bar_chart

    assert "<script>" not in bar_chart("<script>", [("<b>", 1.0, "&")])
    hostile = Profile.model_validate(
        {
            "platform": {"name": "<script>alert(1)</script>"},
            "sector": "<i>",
            "cancellation": {"channels": ["phone"], "evidence": [{"kind": "note", "text": "x"}]},
        }
    )
    html = render_study(build_study([hostile]), "html", "en")
    assert "<script>" not in html and "&lt;script&gt;" in html
