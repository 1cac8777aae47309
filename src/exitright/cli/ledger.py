"""``exitright ledger``: verify the hash chain and publish its head."""

from __future__ import annotations

import typer

from exitright.cli._common import console, fail, load_settings
from exitright.db.engine import make_engine
from exitright.ledger import service
from exitright.ledger.chain import Checkpoint

app = typer.Typer(help="Verify the tamper-evident ledger and print its head.", no_args_is_help=True)


@app.command("verify")
def verify(
    checkpoint: str | None = typer.Option(
        None, "--checkpoint", help="a published head SEQ:HASH; detects truncation after it"
    ),
) -> None:
    """Recompute the whole chain; name the first broken entry and exit 1 if any."""
    published = None
    if checkpoint:
        try:
            published = Checkpoint.parse(checkpoint)
        except ValueError as exc:
            fail(f"--checkpoint: {exc}")
    engine = make_engine(load_settings().engine_url)
    try:
        verdict = service.verify_ledger(engine, published)
    finally:
        engine.dispose()
    if verdict.ok:
        head = f", head {verdict.head}" if verdict.head else ""
        console.print(f"[green]ledger intact[/]: {verdict.entries} entries{head}")
        return
    fail(f"ledger broken at entry {verdict.broken_seq}: {verdict.reason}", code=1)


@app.command("checkpoint")
def checkpoint() -> None:
    """Print the head (SEQ:HASH) to publish somewhere the platform cannot rewrite."""
    engine = make_engine(load_settings().engine_url)
    try:
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            head = service.head(conn)
    finally:
        engine.dispose()
    if head is None:
        fail("the ledger is empty: nothing to checkpoint yet", code=1)
    typer.echo(str(head))
