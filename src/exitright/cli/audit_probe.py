"""``exitright audit probe BASE_URL``: a black-box test of a running platform's cancellation.

Thin: options → :func:`exitright.audit.probe.run_probe` → the profile (YAML) and its scorecard.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
import yaml

from exitright.audit.probe import CommandCodes, PageCodes, ProbeConfig, run_probe
from exitright.audit.probe.client import Browser
from exitright.audit.probe.codes import AnyOf, CodeSource
from exitright.audit.report import render_scorecard, scorecard_table
from exitright.audit.score import score
from exitright.cli._common import console, err_console, fail, user_errors

CODE_READS = 2_000  # requests the code reader may make (it polls every half second at most)


class ProbeFormat(StrEnum):
    """Scorecard formats."""

    TABLE = "table"
    MD = "md"
    JSON = "json"


def profile_yaml(data: dict[str, Any]) -> str:
    """A profile as YAML, the way ``exitright audit score`` reads it."""
    dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return str(yaml.dump(data, Dumper=dumper, allow_unicode=True, sort_keys=False))


def probe_cmd(
    base_url: str = typer.Argument(
        ..., help="the platform's home page, e.g. http://127.0.0.1:8000/shop/"
    ),
    phone: str = typer.Option(..., "--phone", help="the test account's phone (it is cancelled)"),
    code_source: list[str] = typer.Option(
        [], "--code-source", help="a page or JSON inbox listing the codes sent (repeatable)"
    ),
    code_command: str | None = typer.Option(
        None,
        "--code-command",
        help="SMS inbox hook: prints the texts received for $EXITRIGHT_PROBE_PHONE",
    ),
    api_key: str | None = typer.Option(
        None,
        "--api-key",
        envvar="EXITRIGHT_PROBE_API_KEY",
        help="admin key: simulate a reassigned number",
    ),
    recycled_phone: str | None = typer.Option(
        None, "--recycled-phone", help="a second test account with orders, not signed in today"
    ),
    name: str | None = typer.Option(None, "--name", help="the platform's name in the profile"),
    sector: str | None = typer.Option(None, "--sector"),
    wait: float = typer.Option(
        120.0, "--wait", min=1, max=3600, help="seconds to wait for completion"
    ),
    out: Path | None = typer.Option(None, "--out", help="write the profile (YAML) here"),
    fmt: ProbeFormat = typer.Option(ProbeFormat.TABLE, "--format", case_sensitive=False),
    lang: str = typer.Option("en", "--lang", help="scorecard language: en or zh-CN"),
) -> None:
    """Probe a running platform: cancel a test account, measure, check; profile and scorecard."""
    if not code_source and not code_command:
        fail("give --code-source URL (a developer page or inbox) or --code-command (an SMS hook)")
    with user_errors(lang), Browser(base_url, budget=[CODE_READS]) as reader:
        sources: list[CodeSource] = []
        if code_source:
            sources.append(PageCodes(reader, [reader.absolute(u) for u in code_source]))
        if code_command:
            sources.append(CommandCodes(code_command))
        config = ProbeConfig(
            base_url=base_url,
            phone=phone,
            codes=AnyOf(sources),
            api_key=api_key,
            recycled_phone=recycled_phone,
            platform_name=name,
            sector=sector,
            wait_seconds=wait,
        )
        result = run_probe(config)
        for note in result.observations.notes:
            err_console.print(f"note: {note}", highlight=False)
        text = profile_yaml(result.profile.model_dump(mode="json", exclude_none=True))
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
            err_console.print(f"profile written to {out}", highlight=False)
        card = score(result.profile)
        if fmt is ProbeFormat.TABLE:
            console.print(scorecard_table(card, lang))
        else:
            typer.echo(render_scorecard(card, fmt.value, lang))
