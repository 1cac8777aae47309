"""``exitright certificate``: check a deletion certificate as a user, auditor or court would."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import typer

from exitright.cli._common import console, fail, load_settings
from exitright.db.engine import make_engine
from exitright.ledger import certificates, service, signing

app = typer.Typer(help="Verify deletion certificates.", no_args_is_help=True)


def _jwks(source: str | None) -> dict[str, object]:
    """The JWK Set from a URL, a file, or (by default) this deployment's database."""
    if source is None:
        engine = make_engine(load_settings().engine_url)
        try:
            with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
                return dict(signing.jwks(conn))
        finally:
            engine.dispose()
    if source.startswith(("http://", "https://")):
        try:
            response = httpx.get(source, timeout=10, follow_redirects=True)
            response.raise_for_status()
            return dict(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            fail(f"cannot read the JWKS at {source}: {type(exc).__name__}")
    path = Path(source)
    if not path.is_file():
        fail(f"--jwks {source}: no such file")
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except ValueError:
        fail(f"--jwks {source}: not a JSON JWK Set")


@app.command("verify")
def verify(
    file: Path = typer.Argument(..., help="the certificate (compact JWS), or - for stdin"),
    jwks: str | None = typer.Option(None, "--jwks", help="URL or file of the JWK Set"),
    ledger: bool = typer.Option(
        False, "--ledger", help="also check the ledger entry it cites and the whole chain"
    ),
) -> None:
    """Check the signature and claims; exit 0 only if the certificate is valid."""
    if str(file) == "-":
        token = typer.get_text_stream("stdin").read()
    elif file.is_file():
        token = file.read_text(encoding="utf-8", errors="replace")
    else:
        fail(f"{file}: no such file")
    keys = _jwks(jwks)
    try:
        key_set = signing.key_set(keys)
    except Exception:  # any malformed JWK Set is the user's input, not our bug
        fail("the JWK Set is not valid")
    check = certificates.verify(token, key_set)
    if not check.ok or check.claims is None:
        fail(f"certificate NOT valid: {check.reason}", code=1)
    claims = check.claims
    console.print(f"[green]certificate valid[/] (key {check.kid})")
    for name in ("jti", "kind", "sub", "submitted_at", "completed_at", "ledger_entry"):
        if name in claims:
            console.print(f"  {name}: {claims[name]}")
    if ledger:
        engine = make_engine(load_settings().engine_url)
        try:
            with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
                cited = [e for e in service.for_request(conn, str(claims["jti"]))]
            verdict = service.verify_ledger(engine)
        finally:
            engine.dispose()
        if not any(e.hash == claims["ledger_entry"] for e in cited):
            fail("the ledger holds no entry with the hash this certificate cites", code=1)
        if not verdict.ok:
            fail(f"the ledger is broken at entry {verdict.broken_seq}: {verdict.reason}", code=1)
        console.print("  ledger: the cited entry is present and the chain is intact")
