"""The operator's commands: datamap validate/schema/check, erase, vault stats and purge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from exitright.cli import app
from exitright.connectors.sql_engine import store_engine
from tests import servers
from tests.integration.erasure.helpers import DEMO_MAP, seed, user_ids

runner = CliRunner()


@pytest.fixture
def demo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A seeded demo platform in a temporary data dir, the map pointed at it."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    seed(url, tmp_path / "var" / "uploads", users=6)
    monkeypatch.setenv("EXITRIGHT_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("EXITRIGHT_DEMO_DATABASE_URL", url)
    monkeypatch.setenv("EXITRIGHT_REDIS_URL", servers.redis_url(11))
    return url


def test_validate_accepts_the_demo_map_and_schema_prints_json() -> None:
    result = runner.invoke(app, ["datamap", "validate", str(DEMO_MAP)])
    assert result.exit_code == 0, result.output
    schema = json.loads(runner.invoke(app, ["datamap", "schema"]).output)
    assert schema["title"] == "DataMap"


def test_a_map_with_an_undecided_table_is_refused_clearly(tmp_path: Path) -> None:
    data = yaml.safe_load(DEMO_MAP.read_text(encoding="utf-8"))
    del data["stores"]["platform"]["tables"]["addresses"]["action"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["datamap", "validate", str(bad)])
    assert result.exit_code != 0
    assert "stores.platform.tables.addresses" in result.output
    assert "no decided action" in result.output
    zh = runner.invoke(app, ["datamap", "validate", str(bad), "--lang", "zh-CN"])
    assert "尚未决定动作" in zh.output


@pytest.mark.redis
def test_check_finds_nothing_uncovered_in_the_demo_until_a_table_of_phones_appears(
    demo_env: str,
) -> None:
    result = runner.invoke(app, ["datamap", "check", str(DEMO_MAP)])
    assert result.exit_code == 0, result.output
    engine = store_engine(demo_env)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE promo_leads (id INTEGER PRIMARY KEY, contact TEXT)"))
        conn.execute(
            text("INSERT INTO promo_leads (contact) VALUES ('13912345678'), ('+86 139 1234 5679')")
        )
    engine.dispose()
    result = runner.invoke(app, ["datamap", "check", str(DEMO_MAP)])
    assert result.exit_code == 1
    assert "promo_leads" in result.output and "phone" in result.output


@pytest.mark.redis
def test_erase_prints_a_summary_and_dry_run_changes_nothing(demo_env: str) -> None:
    engine = store_engine(demo_env)
    uid = user_ids(engine)[0]
    dry = runner.invoke(app, ["erase", "--map", str(DEMO_MAP), "--user-id", str(uid), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert user_ids(engine)[0] == uid
    done = runner.invoke(app, ["erase", "--map", str(DEMO_MAP), "--user-id", str(uid)])
    assert done.exit_code == 0, done.output
    assert "users" in done.output and "completed" in done.output
    assert uid not in user_ids(engine)
    engine.dispose()
    stats = runner.invoke(app, ["vault", "stats"])
    assert stats.exit_code == 0 and "cn-ecl-31" in stats.output
    purge = runner.invoke(app, ["vault", "purge", "--dry-run"])
    assert purge.exit_code == 0 and "would destroy" in purge.output


@pytest.mark.redis
def test_erase_from_a_file_erases_every_listed_subject(demo_env: str, tmp_path: Path) -> None:
    engine = store_engine(demo_env)
    first, second, third, *rest = user_ids(engine)
    with engine.connect() as conn:
        phone = conn.execute(text("SELECT phone FROM users WHERE id = :i"), {"i": second}).scalar()
    listing = tmp_path / "leavers.txt"
    listing.write_text(
        f"# dormant accounts\nuser_id:{first}\n\nphone: {phone}\nuser_id:{third}\n"
        f"user_id:{first}\n",
        encoding="utf-8",
    )
    done = runner.invoke(app, ["erase", "--map", str(DEMO_MAP), "--from", str(listing)])
    assert done.exit_code == 0, done.output
    assert "3 erasure(s)" in done.output and "4 of 4 subject(s) erased completely" in done.output
    assert user_ids(engine) == rest
    engine.dispose()


def test_erase_from_a_file_names_the_bad_line_without_its_value(
    demo_env: str, tmp_path: Path
) -> None:
    listing = tmp_path / "leavers.txt"
    listing.write_text("user_id:1\nmobile:13800000000\n", encoding="utf-8")
    result = runner.invoke(app, ["erase", "--map", str(DEMO_MAP), "--from", str(listing)])
    assert result.exit_code == 2
    assert "line 2" in result.output and "13800000000" not in result.output
    zh = runner.invoke(
        app, ["erase", "--map", str(DEMO_MAP), "--from", str(listing), "--lang", "zh-CN"]
    )
    assert "第 2 行" in zh.output
    both = runner.invoke(
        app, ["erase", "--map", str(DEMO_MAP), "--from", str(listing), "--user-id", "1"]
    )
    assert both.exit_code == 2 and "--from" in both.output
    missing = runner.invoke(app, ["erase", "--map", str(DEMO_MAP), "--from", "nope.txt"])
    assert missing.exit_code == 2 and "nope.txt" in missing.output


def test_erase_needs_exactly_one_identifier(demo_env: str) -> None:
    result = runner.invoke(app, ["erase", "--map", str(DEMO_MAP)])
    assert result.exit_code != 0
    assert "--phone" in result.output
