"""``exitright events``: deliver Security Event Tokens, see who acknowledged, run a receiver."""

from __future__ import annotations

import shlex
import threading
from pathlib import Path

import httpx
import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from exitright.cli._common import console, fail, load_settings, user_errors
from exitright.clock import SystemClock
from exitright.db.engine import make_engine
from exitright.protocols import notices, outbox, poll, push
from exitright.protocols.jwks import JwksCache
from exitright.protocols.reference_receiver import (
    JtiStore,
    ReferenceReceiver,
    create_app,
    exec_callback,
    journal_callback,
)
from exitright.protocols.runtime import ProtocolsRuntime
from exitright.worker import worker_name

app = typer.Typer(
    help="Security Event Tokens: deliver notices to third parties, follow them, receive ours.",
    no_args_is_help=True,
)


@app.command("deliver")
def deliver(
    once: bool = typer.Option(False, "--once", help="one round of due deliveries, then exit"),
    interval: float = typer.Option(5.0, "--interval", min=0.1, help="seconds between rounds"),
    limit: int = typer.Option(50, "--limit", min=1, help="notices per round"),
) -> None:
    """Push due SETs to recipients (RFC 8935), retrying with backoff; escalate overdue ones."""
    with user_errors():
        settings = load_settings()
        rt = ProtocolsRuntime.from_settings(settings)
        engine = make_engine(settings.engine_url)
        stop = threading.Event()
        name = worker_name("events")
        timeouts = {n: c.get("timeout_seconds", 10.0) for n, c in rt.config.recipients.items()}

        def headers_for(recipient: str) -> dict[str, str]:
            try:
                return rt.config.recipient(recipient).push_headers()
            except ValueError:
                return {}

        try:
            with httpx.Client(follow_redirects=False) as client:
                while not stop.is_set():
                    try:
                        report = push.deliver_due(
                            engine,
                            SystemClock(),
                            rt.transmitter,
                            client,
                            worker=name,
                            policy=rt.retry,
                            headers_for=headers_for,
                            timeout_for=lambda r: float(timeouts.get(r, 10.0)),
                            limit=limit,
                        )
                    except SQLAlchemyError as exc:
                        if once:
                            fail(
                                f"the engine database failed ({type(exc).__name__}); "
                                "check EXITRIGHT_DATABASE_URL and run `exitright db upgrade`"
                            )
                        console.print(f"[yellow]database error[/] ({type(exc).__name__}); retrying")
                        stop.wait(interval)
                        continue
                    if report.claimed or report.escalated or once:
                        console.print(
                            f"delivered {report.claimed}: {report.acknowledged} acknowledged, "
                            f"{report.rejected} rejected, {report.retried} to retry, "
                            f"{report.failed} given up; {report.escalated} escalated"
                        )
                    if once:
                        return
                    if report.claimed < limit:
                        stop.wait(interval)
        except KeyboardInterrupt:
            console.print("stopped")
        finally:
            engine.dispose()


@app.command("status")
def status(
    escalated: bool = typer.Option(False, "--escalated", help="list the escalated notices"),
) -> None:
    """Per recipient: pending, acknowledged, rejected, failed and escalated notices."""
    with user_errors():
        settings = load_settings()
        engine = make_engine(settings.engine_url)
        try:
            with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
                rows = notices.status(conn)
                tokens = poll.summary(conn)
                listed = notices.notices(conn, escalated=True) if escalated else []
        except SQLAlchemyError as exc:
            fail(f"cannot read the outbox ({type(exc).__name__}); run `exitright db upgrade`")
        finally:
            engine.dispose()
        table = Table(
            "recipient",
            "pending",
            "acknowledged",
            "rejected",
            "failed",
            "escalated",
            "oldest pending",
            "poll token",
        )
        for r in rows:
            table.add_row(
                r.recipient,
                str(r.pending),
                str(r.acknowledged),
                str(r.rejected),
                str(r.failed),
                f"[red]{r.escalated}[/]" if r.escalated else "0",
                r.oldest_pending.isoformat(timespec="seconds") if r.oldest_pending else "-",
                tokens.get(r.recipient, "-"),
            )
        if not rows:
            console.print("no notices yet")
        else:
            console.print(table)
        for n in listed:
            console.print(
                f"[red]escalated[/] {n.jti} {n.recipient} {n.event} {n.state} "
                f"(request {n.request_id}, deadline {n.deadline_at.isoformat(timespec='seconds')})"
            )


@app.command("retry")
def retry(jti: str = typer.Argument(..., help="the jti of a failed notice")) -> None:
    """Send a notice that was given up on again, from now on."""
    with user_errors():
        settings = load_settings()
        engine = make_engine(settings.engine_url)
        try:
            with engine.begin() as conn:
                done = outbox.rearm(conn, SystemClock(), jti)
        finally:
            engine.dispose()
        if not done:
            fail(f"no failed notice with jti {jti} (see `exitright events status --escalated`)")
        console.print(f"notice {jti} will be sent again")


@app.command("poll-token")
def poll_token(
    recipient: str = typer.Argument(..., help="the recipient's name in the data map"),
    revoke: bool = typer.Option(False, "--revoke", help="remove the token instead"),
) -> None:
    """Issue (or replace) the bearer token a poll-delivery recipient uses; shown once."""
    with user_errors():
        settings = load_settings()
        engine = make_engine(settings.engine_url)
        try:
            with engine.begin() as conn:
                if revoke:
                    if not poll.revoke_token(conn, recipient):
                        fail(f"recipient {recipient} has no poll token")
                    console.print(f"poll token of {recipient} revoked")
                    return
                token = poll.issue_token(conn, SystemClock(), recipient)
        finally:
            engine.dispose()
        console.print(f"poll token for {recipient} (shown once; give it to the recipient):")
        typer.echo(token)


@app.command("reference-receiver")
def reference_receiver(
    jwks_url: str = typer.Option(..., "--jwks-url", help="the transmitter's JWKS URL"),
    audience: str = typer.Option(..., "--audience", help="the aud our SETs must carry"),
    issuer: str | None = typer.Option(
        None, "--issuer", help="the transmitter's iss; default: the JWKS URL's origin"
    ),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8100, "--port", min=1, max=65535),
    path: str = typer.Option("/events", "--path", help="the push endpoint's path"),
    db: Path = typer.Option(Path("seen-sets.db"), "--db", help="SQLite file of seen jtis"),
    exec_: str | None = typer.Option(
        None, "--exec", help="command run per account-purged, event JSON on stdin"
    ),
    journal: Path | None = typer.Option(
        None, "--journal", help="append each account-purged event as a JSON line to this file"
    ),
) -> None:
    """Run the reference receiver a merchant or courier uses to accept our events (RFC 8935)."""
    import uvicorn

    if (exec_ is None) == (journal is None):
        fail("give exactly one of --exec COMMAND or --journal FILE: what deleting means to you")
    if not jwks_url.startswith(("http://", "https://")):
        fail("--jwks-url must be an http(s) URL")
    origin = issuer or jwks_url.split("/.well-known/")[0]
    callback = exec_callback(shlex.split(exec_)) if exec_ else journal_callback(journal or "")
    receiver = ReferenceReceiver(
        issuer=origin.rstrip("/"),
        audience=audience,
        keys=JwksCache(jwks_url),
        on_delete=callback,
        store=JtiStore(db),
    )
    console.print(f"accepting SETs from {receiver.issuer} at http://{host}:{port}{path}")
    uvicorn.run(create_app(receiver, path), host=host, port=port, log_level="warning")
