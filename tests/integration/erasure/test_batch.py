"""Erasing many subjects in chunks ends exactly as erasing them one by one."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from exitright.connectors.sql_engine import store_engine
from exitright.erasure.batch import erase_subjects
from exitright.erasure.models import ErasurePlan, ErasureStep
from exitright.erasure.service import Lookup, Summary, erase_subject
from exitright.errors import ExitRightError
from exitright.vault.models import VaultRecord
from tests import servers
from tests.integration.erasure.helpers import (
    SQL_BACKENDS,
    checksum_of_subject,
    context,
    demo_map,
    seed,
    snapshot,
    subject_ids,
    user_ids,
)


@pytest.fixture(params=SQL_BACKENDS)
def two_platforms(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two identical seeded demo platforms on one backend (uploads under tmp_path/a, /b)."""
    if request.param == "sqlite":
        seed(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "a", users=14)
        shutil.copy(tmp_path / "a.db", tmp_path / "b.db")
        shutil.copytree(tmp_path / "a", tmp_path / "b")
        yield f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
        return
    make = servers.postgres_database if request.param == "postgres" else servers.mariadb_database
    with make() as a, make() as b:
        seed(a, tmp_path / "a", users=14)
        seed(b, tmp_path / "b", users=14)
        yield a, b


def counts(summary: Summary) -> dict[tuple[str, str], dict[str, int]]:
    return {k: dict(v) for k, v in summary.tables.items()}


def vault_rows(engine: Engine) -> list[tuple[str, str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(VaultRecord.subject_pseudonym, VaultRecord.table_name, func.count())
            .group_by(VaultRecord.subject_pseudonym, VaultRecord.table_name)
            .order_by(VaultRecord.subject_pseudonym, VaultRecord.table_name)
        ).all()
    return [(r[0], r[1], int(r[2])) for r in rows]


@pytest.mark.parametrize("batch", [500, 4], ids=["one-transaction", "split"])
def test_a_chunked_erasure_ends_as_one_by_one(
    two_platforms: tuple[str, str], tmp_path: Path, batch: int
) -> None:
    """Same platform end state, same counts per subject, same vault; other users untouched.

    With a batch of 4 rows the chunk's steps are split into groups of members, and members with
    more rows than that run theirs alone, in batches."""
    url_a, url_b = two_platforms
    dm_a, dm_b = demo_map(url_a, tmp_path / "a"), demo_map(url_b, tmp_path / "b")
    a, b = store_engine(url_a), store_engine(url_b)
    try:
        ids = user_ids(a)
        erased, spared = ids[:11], ids[-1]
        before = checksum_of_subject(dm_a, a, subject_ids(dm_a, a, spared))
        lookups = [Lookup("user_id", str(uid)) for uid in erased]
        (tmp_path / "one").mkdir()
        with context(tmp_path / "one", sql_engines={"platform": b}, batch_size=batch) as ctx:
            alone = [erase_subject(ctx, dm_b, lk) for lk in lookups]
            vault_alone = vault_rows(ctx.engine)
        (tmp_path / "many").mkdir()
        events: list[str] = []
        with context(tmp_path / "many", sql_engines={"platform": a}, batch_size=batch) as ctx:
            together = erase_subjects(ctx, dm_a, lookups, chunk=4, observe=events.append)
            vault_together = vault_rows(ctx.engine)
            with ctx.engine.connect() as conn:
                statuses = conn.execute(select(ErasurePlan.status)).scalars().all()
                open_steps = conn.scalar(select(func.count()).where(ErasureStep.status != "done"))
        assert events.count("planned") == 3  # 11 subjects in chunks of 4
        assert all(isinstance(s, Summary) for s in together)
        for one, many in zip(alone, together, strict=True):
            assert isinstance(many, Summary)
            assert many.status == "completed", (many.failed_step, many.hits)
            assert many.subject == one.subject
            assert counts(many) == counts(one)
        assert statuses == ["completed"] * 11 and open_steps == 0
        assert vault_together == vault_alone and vault_together
        assert snapshot(a) == snapshot(b)
        assert checksum_of_subject(dm_a, a, subject_ids(dm_a, a, spared)) == before
    finally:
        a.dispose()
        b.dispose()


def sqlite_platform(tmp_path: Path, users: int = 6) -> tuple[str, Path]:
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    seed(url, tmp_path / "uploads", users=users)
    return url, tmp_path / "uploads"


def test_each_lookup_gets_its_own_outcome(tmp_path: Path) -> None:
    """A lookup the map refuses gets its error, an account named twice is erased once, and a
    number nobody has still gets a (clean) plan over that number."""
    url, uploads = sqlite_platform(tmp_path)
    dm = demo_map(url, uploads)
    engine = store_engine(url)
    try:
        uid = user_ids(engine)[0]
        phone = subject_ids(dm, engine, uid).phone
        lookups = [
            Lookup("user_id", str(uid)),
            Lookup("nickname", "x"),  # type: ignore[arg-type]  # what a careless caller sends
            Lookup("phone", str(phone)),
            Lookup("phone", "13900000000"),
        ]
        with context(tmp_path, sql_engines={"platform": engine}) as ctx:
            out = erase_subjects(ctx, dm, lookups)
            none = erase_subjects(ctx, dm, [Lookup("nickname", "y")])  # type: ignore[arg-type]
            with ctx.engine.connect() as conn:
                plans = conn.scalar(select(func.count()).select_from(ErasurePlan))
    finally:
        engine.dispose()
    first, refused, again, nobody = out
    assert isinstance(first, Summary) and first.status == "completed" and first.found
    assert isinstance(refused, ExitRightError)
    assert refused.message_id == "erasure.lookup_not_allowed"
    assert again is first  # the same account: one plan, one erasure
    assert isinstance(nobody, Summary) and not nobody.found and nobody.status == "completed"
    assert plans == 2
    assert len(none) == 1 and isinstance(none[0], ExitRightError)


def test_a_residue_fails_only_its_own_subject_with_its_location(tmp_path: Path) -> None:
    """The chunk's single residual search finds something: each subject is searched on its own."""
    url, uploads = sqlite_platform(tmp_path)
    dm = demo_map(url, uploads)
    engine = store_engine(url)
    try:
        first, second, other = user_ids(engine)[:3]
        phone = subject_ids(dm, engine, second).phone
        with engine.begin() as conn:  # the second subject's number in another user's address
            key = conn.execute(
                text("SELECT MIN(id) FROM addresses WHERE user_id = :o"), {"o": other}
            ).scalar_one()
            conn.execute(
                text("UPDATE addresses SET receiver_phone = :p WHERE id = :k"),
                {"p": phone, "k": key},
            )
        with context(tmp_path, sql_engines={"platform": engine}) as ctx:
            one, two = erase_subjects(ctx, dm, [Lookup("user_id", str(u)) for u in (first, second)])
    finally:
        engine.dispose()
    assert isinstance(one, Summary) and one.status == "completed"
    assert isinstance(two, Summary) and two.status == "failed"
    assert (two.failed_step or "").startswith("residual")
    assert {
        "store": "platform",
        "table": "addresses",
        "column": "receiver_phone",
        "row_key": str(key),
    } in (two.hits)
    assert all(str(phone) not in str(h) for h in two.hits)
