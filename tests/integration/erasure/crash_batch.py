"""A process that erases a list of subjects in chunks and SIGKILLs itself at a chosen event.

Usage: python -m tests.integration.erasure.crash_batch \
    TMP ENGINE_URL PLATFORM_URL UPLOADS EVENT NTH USER_ID...
"""

from __future__ import annotations

import sys
from pathlib import Path

from exitright.connectors.sql_engine import store_engine
from exitright.erasure.batch import erase_subjects
from exitright.erasure.service import Lookup
from tests.integration.erasure.helpers import context, demo_map, killer


def main() -> None:
    """Erase the users in chunks of 3; die hard at the NTH event starting with EVENT."""
    tmp, engine_url, platform_url, uploads, event, nth, *users = sys.argv[1:]
    observe = killer(event, int(nth))
    dm = demo_map(platform_url, Path(uploads))
    engine = store_engine(platform_url)
    with context(Path(tmp), url=engine_url, sql_engines={"platform": engine}) as ctx:
        lookups = [Lookup("user_id", u) for u in users]
        erase_subjects(ctx, dm, lookups, worker="crashy", chunk=3, observe=observe)


if __name__ == "__main__":
    main()
