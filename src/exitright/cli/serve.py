"""``exitright serve``: run the web app with uvicorn."""

from __future__ import annotations

import typer

from exitright.cli._common import console, load_settings
from exitright.config import Settings


def serve(
    host: str | None = typer.Option(
        None, help="address to bind (default: EXITRIGHT_HOST or 127.0.0.1)"
    ),
    port: int | None = typer.Option(None, help="port (default: EXITRIGHT_PORT or 8000)"),
    workers: int = typer.Option(1, min=1, help="web processes"),
) -> None:
    """Serve ExitRight (pages, /v1 API, /docs); migrates the engine database first."""
    import uvicorn

    from exitright.db import migrate

    settings = load_settings()
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    if overrides:
        settings = Settings(**{**settings.model_dump(exclude_unset=True), **overrides})
    migrate.upgrade(settings.engine_url)
    console.print(f"ExitRight at [bold]{settings.public_url}[/]  (Ctrl-C stops)")
    _export(settings)
    uvicorn.run(
        "exitright.web.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,  # access logs would carry query strings; requests are logged by the app
    )


def _export(settings: Settings) -> None:
    """Pass command-line overrides to the app factory (it reads the environment)."""
    import os

    os.environ["EXITRIGHT_HOST"] = settings.host
    os.environ["EXITRIGHT_PORT"] = str(settings.port)
