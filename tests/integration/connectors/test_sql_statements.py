"""The SQL connector builds its statements once per map and runs them for every subject.

Building and compiling SQLAlchemy expressions per subject cost more than the statements (bench/
README.md, "Erasure"): the conditions carry bound parameters, the statements are kept per map in
the context, and on PostgreSQL their text is the same for every subject (lists are arrays), so
psycopg prepares them — which only lasts if read transactions end in COMMIT, not ROLLBACK.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, text

from exitright.connectors.sql_engine import reading, store_engine
from exitright.erasure.service import Lookup, erase_subject
from tests import servers
from tests.integration.erasure.helpers import context, demo_map, seed, user_ids


def test_statements_are_built_once_per_map_and_reused_for_every_subject(
    engine_url: str, tmp_path: Path
) -> None:
    """The count and residual statements are built once for all subjects and conditions once
    per table; on PostgreSQL those statements have one text (so the driver can prepare them)."""
    platform_url = engine_url  # a fresh database on SQLite and on PostgreSQL (tests/conftest.py)
    uploads = tmp_path / "uploads"
    seed(platform_url, uploads, users=8)
    dm = demo_map(platform_url, uploads)
    # The large platform's residual mode (bench/erase_bench.py); ``full`` searches free text for
    # each subject's own substrings, so its statement is built per subject.
    dm = dm.model_copy(update={"residual": dm.residual.model_copy(update={"mode": "indexed"})})
    engine = store_engine(platform_url)
    texts: dict[str, set[str]] = {"count": set(), "residual": set()}

    def seen(_c: object, _cur: object, statement: str, *_rest: object) -> None:
        if statement.startswith("SELECT (SELECT count"):
            texts["count"].add(statement)
        elif statement.startswith("SELECT EXISTS"):
            texts["residual"].add(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        ids = user_ids(engine)
        exitright_db = f"sqlite:///{tmp_path / 'exitright.db'}"
        with context(tmp_path, url=exitright_db, sql_engines={"platform": engine}) as ctx:
            for uid in ids[:6]:
                summary = erase_subject(ctx, dm, Lookup("user_id", str(uid)))
                assert summary.status == "completed", (uid, summary.failed_step)
            (shapes,) = ctx.shapes.values()  # one map, one SQL store
        kinds = [k[0] if k[0] != "stmt" else k[1][0] for k in shapes if isinstance(k, tuple)]
        assert kinds.count("counts") == 1  # every subject's counts: one statement
        assert kinds.count("residual") == 1
        tables = dm.sql_stores()["platform"].tables.values()
        # Conditions: at most one per table and link, with and without the pinned keys.
        assert kinds.count("cond") <= 2 * sum(1 + len(t.link) for t in tables)
        if engine.dialect.name == "postgresql":
            assert len(texts["count"]) == 1
            assert len(texts["residual"]) == 1
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_reads_end_in_commit_so_prepared_statements_survive() -> None:
    """psycopg prepares a statement after five runs and drops them all at a ROLLBACK (a pool's
    reset): ``reading`` commits, so the sixth run finds its statement still prepared."""
    probe = text("SELECT 1 WHERE 1 = ANY(CAST(:a AS int[]))")
    prepared = "SELECT count(*) FROM pg_prepared_statements"
    with servers.postgres_database() as url:
        engine = store_engine(url)
        try:
            for _ in range(6):
                with reading(engine) as conn:
                    conn.execute(probe, {"a": [1]}).all()
            with reading(engine) as conn:
                assert conn.exec_driver_sql(prepared).scalar() == 1
            with engine.connect() as conn:  # rolled back when returned to the pool
                conn.execute(probe, {"a": [1]}).all()
            with reading(engine) as conn:
                assert conn.exec_driver_sql(prepared).scalar() == 0
        finally:
            engine.dispose()
