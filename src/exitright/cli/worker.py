"""``exitright worker``: carry out due requests (cooling-off ends, erasure, certificates)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import typer

from exitright import bootstrap
from exitright.cli._common import console, load_settings, user_errors
from exitright.datamap.loader import load_map
from exitright.db import migrate
from exitright.observability.logs import configure as configure_logging
from exitright.worker import run


def worker(
    once: bool = typer.Option(False, "--once", help="work until nothing is due, then exit"),
    concurrency: int = typer.Option(1, "--concurrency", min=1, max=64, help="worker threads"),
    poll: float = typer.Option(2.0, "--poll", min=0.1, help="seconds between looks when idle"),
    map_path: Path | None = typer.Option(
        None, "--map", help="the platform's data map (default: the demo's, if the demo is on)"
    ),
) -> None:
    """Run the request worker; any number may run at once on PostgreSQL."""
    with user_errors():
        settings = load_settings()
        # The same JSON lines, request ids and PI redaction as the web processes.
        configure_logging(settings.log_level)
        migrate.upgrade(settings.engine_url)
        dm = load_map(map_path) if map_path else None
        rt = bootstrap.build(settings, datamap=dm)
        stop = threading.Event()

        def _stop(_signum: int, _frame: FrameType | None) -> None:
            stop.set()  # finish the request at hand, then leave

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        done = 0

        def counted(n: int) -> None:
            nonlocal done
            done += n

        try:
            if not once:
                console.print(f"worker on {concurrency} thread(s); Ctrl-C stops")
            run(rt, once=once, concurrency=concurrency, poll_seconds=poll, stop=stop,
                on_batch=counted)  # fmt: skip
        finally:
            rt.close()
        if once:
            console.print(f"{done} request(s) looked at")
