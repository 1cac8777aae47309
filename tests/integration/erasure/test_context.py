"""An erasure context keeps one engine (and Redis client) per store for its life, and closes them.

A worker runs plan after plan on one context: an engine per plan would connect to the platform
anew and compile every statement again (and psycopg's prepared statements live per connection).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event

from exitright.erasure.service import Lookup, erase_subject, resolve
from tests.integration.erasure.helpers import context, demo_map, seed, user_ids


def test_plans_share_the_contexts_engine_and_close_releases_it(tmp_path: Path) -> None:
    """Three plans and a look-up open one platform engine; ``close`` disposes of it."""
    platform = f"sqlite:///{tmp_path / 'platform.db'}"
    uploads = tmp_path / "uploads"
    seed(platform, uploads, users=5)
    dm = demo_map(platform, uploads)
    with context(tmp_path) as ctx:
        engine = ctx.engines(dm)["platform"]
        connects: list[object] = []
        event.listen(engine, "connect", lambda conn, _record: connects.append(conn))
        ids = user_ids(engine)
        resolve(ctx, dm, Lookup("user_id", str(ids[0])))
        for uid in ids[:3]:
            assert erase_subject(ctx, dm, Lookup("user_id", str(uid))).status == "completed"
        assert ctx.engines(dm)["platform"] is engine
        assert list(ctx.store_engines.values()) == [engine]
        assert len(connects) <= 2  # pooled: no new connection per plan
        assert len(ctx.store_clients) == 1  # the map's Redis store, one client
        ctx.close()
        assert ctx.store_engines == {} and ctx.store_clients == {}
        assert ctx.engines(dm)["platform"] is not engine  # a new one on next use
        ctx.close()
