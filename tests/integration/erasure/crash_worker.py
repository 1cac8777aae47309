"""A worker process that runs a plan and SIGKILLs itself at a chosen event (for resume tests).

Usage: python -m tests.integration.erasure.crash_worker \
    TMP ENGINE_URL PLATFORM_URL UPLOADS PLAN EVENT NTH
"""

from __future__ import annotations

import sys
from pathlib import Path

from exitright.connectors.sql_engine import store_engine
from exitright.erasure.executor import run_plan
from tests.integration.erasure.helpers import context, demo_map, killer


def main() -> None:
    """Run the plan; die hard at the NTH occurrence of EVENT (a prefix such as ``vault:``)."""
    tmp, engine_url, platform_url, uploads, plan_id, event, nth = sys.argv[1:8]
    observe = killer(event, int(nth))
    dm = demo_map(platform_url, Path(uploads))
    engine = store_engine(platform_url)
    with context(Path(tmp), url=engine_url, batch_size=3, sql_engines={"platform": engine}) as ctx:
        run_plan(ctx, dm, plan_id, worker="crashy", observe=observe)


if __name__ == "__main__":
    main()
