"""``exitright audit``: thin commands, one line and exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from exitright.cli import app

ECRC = Path(__file__).resolve().parents[3] / "studies" / "ecrc-2019"
JD = ECRC / "profiles" / "retail" / "02-jd.yaml"
runner = CliRunner()


def test_schema_prints_the_json_schema() -> None:
    """The published schema is valid JSON naming the profile."""
    result = runner.invoke(app, ["audit", "schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"] == "Profile"


def test_rules_lists_the_whole_rubric_as_json() -> None:
    """29 rules with citations in both languages."""
    result = runner.invoke(app, ["audit", "rules", "--format", "json"])
    rows = json.loads(result.stdout)
    assert len(rows) == 29
    assert rows[0]["requirement"]["zh-CN"]


def test_score_in_every_format(tmp_path: Path) -> None:
    """table, md, html and json all render; json has the grade."""
    for fmt in ("table", "md", "html"):
        result = runner.invoke(app, ["audit", "score", str(JD), "--format", fmt, "--lang", "zh-CN"])
        assert result.exit_code == 0, result.output
        assert "京东" in result.stdout
    out = tmp_path / "jd.json"
    result = runner.invoke(app, ["audit", "score", str(JD), "--format", "json", "--out", str(out)])
    assert result.exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["grade"] == "F"


def test_a_bad_profile_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """No traceback: one line naming the file and the field."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("platform: {name: x}\ncancellation: {taps: -1}\n", encoding="utf-8")
    result = runner.invoke(app, ["audit", "score", str(bad)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "cancellation" in result.output and "bad.yaml" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_study_writes_a_self_contained_html_report(tmp_path: Path) -> None:
    """study DIR --format html --out PATH."""
    out = tmp_path / "r" / "ecrc.html"
    result = runner.invoke(
        app, ["audit", "study", str(ECRC), "--format", "html", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<svg" in html and "37.5 %" in html


def test_study_of_a_missing_directory_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """A path that is neither a directory nor a sites.json."""
    result = runner.invoke(app, ["audit", "study", str(tmp_path / "nothing")])
    assert result.exit_code == 2
    assert "nothing" in result.output


def test_an_unknown_format_is_refused() -> None:
    """Typer rejects a format outside the list."""
    result = runner.invoke(app, ["audit", "score", str(JD), "--format", "pdf"])
    assert result.exit_code == 2


def test_import_jdm_writes_profiles(tmp_path: Path) -> None:
    """A small directory file becomes YAML profiles plus the licence notice."""
    sites = tmp_path / "sites.json"
    sites.write_text(
        json.dumps([{"name": "A", "url": "https://a.example", "difficulty": "easy"}]),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["audit", "import-jdm", str(sites), str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "a.yaml").is_file() and (out / "LICENSE-JustDeleteMe.txt").is_file()
