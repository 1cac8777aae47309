"""``exitright demo``: seed the demo platform (a Chinese shopping and food-delivery app)."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from exitright.cli._common import console, fail, is_tty, load_settings, user_errors
from exitright.config import Settings, mask_url
from exitright.db.engine import make_engine

if TYPE_CHECKING:
    import redis

app = typer.Typer(
    help="The demo platform: seed it with plausible zh-CN data.", no_args_is_help=True
)

# Upper bound on --users: far above any demo, low enough to catch a typo of a few extra zeros.
MAX_USERS = 10_000_000


def _whole_number(option: str, value: str, *, low: int, high: int) -> int:
    # Parsed here rather than by Typer so that bad input gets one line, like every other error.
    try:
        number = int(value)
    except ValueError:
        fail(f"{option} must be a whole number, got {value!r}")
    if not low <= number <= high:
        fail(f"{option} must be between {low:,} and {high:,}, got {number:,}")
    return number


def _redis_client(settings: Settings) -> redis.Redis[Any] | None:
    if not settings.redis_url:
        return None
    import redis as redis_lib  # only when configured: the embedded default runs without Redis

    client = redis_lib.Redis.from_url(settings.redis_url)
    try:
        client.ping()
    except redis_lib.RedisError as exc:
        fail(
            f"cannot reach Redis at {mask_url(settings.redis_url)} ({exc}); start it, or unset "
            "EXITRIGHT_REDIS_URL to seed without sessions and carts"
        )
    return client


@app.command("seed")
def seed(
    users: str | None = typer.Option(
        None, "--users", help="how many users to create (1 to 10,000,000); required"
    ),
    seed_value: str = typer.Option("0", "--seed", help="the random seed: same seed, same data"),
    reset: bool = typer.Option(False, "--reset", help="drop the existing demo platform first"),
) -> None:
    """Fill the demo platform's database, uploads folder and Redis with generated users."""
    with user_errors():
        _seed(users, seed_value, reset)


def _seed(users: str | None, seed_value: str, reset: bool) -> None:
    from exitright.demo.seed import demo_phones, drop_platform, is_seeded, seed_platform

    if users is None:
        fail("--users is required, e.g. exitright demo seed --users 1000")
    count = _whole_number("--users", users, low=1, high=MAX_USERS)
    seed_number = _whole_number("--seed", seed_value, low=0, high=2**63 - 1)
    settings = load_settings()
    where = mask_url(settings.demo_url)
    uploads_dir = settings.data_dir / "uploads"
    client = _redis_client(settings)
    engine = make_engine(settings.demo_url)
    try:
        if is_seeded(engine):
            if not reset:
                fail(
                    f"the demo platform at {where} is already seeded; pass --reset to replace it", 1
                )
            drop_platform(engine, uploads_dir=uploads_dir, redis_client=client)
        columns = (
            TextColumn("[bold]seeding users"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        started = time.perf_counter()
        with Progress(*columns, console=console, disable=not is_tty()) as bar:
            task = bar.add_task("users", total=count)
            summary = seed_platform(
                engine,
                users=count,
                seed=seed_number,
                uploads_dir=uploads_dir,
                redis_client=client,
                progress=lambda done: bar.update(task, completed=done),
            )
        elapsed = time.perf_counter() - started
        phones = demo_phones(engine)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        fail(f"demo database {where}: {reason}", 1)
    finally:
        engine.dispose()
    console.print(f"Demo platform seeded: {where}")
    table = Table("table", "rows")
    for name, rows in summary.rows.items():
        table.add_row(name, f"{rows:,}")
    table.add_section()
    table.add_row("[bold]total", f"[bold]{summary.total_rows:,}")
    console.print(table)
    rate = summary.total_rows / elapsed
    console.print(
        f"{summary.total_rows:,} rows in {elapsed:.1f} s ({rate:,.0f} rows/s); "
        f"{summary.files:,} files under {uploads_dir}; "
        + (f"{summary.redis_keys:,} Redis keys" if client else "no Redis configured")
    )
    console.print("Demo phone numbers to sign in with: " + ", ".join(phones))


@app.command("phones")
def phones() -> None:
    """Print phone numbers of seeded users that make a good demo, one per line."""
    from exitright.demo.seed import demo_phones, is_seeded

    with user_errors():
        settings = load_settings()
        where = mask_url(settings.demo_url)
        engine = make_engine(settings.demo_url)
        try:
            if not is_seeded(engine):
                hint = "run: exitright demo seed --users 1000"
                fail(f"the demo platform at {where} has no users; {hint}", 1)
            numbers = demo_phones(engine)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            fail(f"demo database {where}: {reason}", 1)
        finally:
            engine.dispose()
    for number in numbers:
        typer.echo(number)


@app.command("up")
def up(
    port: int | None = typer.Option(None, help="port (default: EXITRIGHT_PORT or 8000)"),
    users: str = typer.Option("2000", "--users", help="users to seed if not seeded yet"),
) -> None:
    """Seed the demo platform if it is empty, print three demo phones, and serve ExitRight."""
    from exitright.cli.serve import serve
    from exitright.demo.seed import demo_phones, is_seeded

    settings = load_settings()
    with user_errors():
        engine = make_engine(settings.demo_url)
        try:
            seeded = is_seeded(engine)
        except SQLAlchemyError as exc:
            fail(f"cannot open the demo platform at {mask_url(settings.demo_url)}: {exc}")
        finally:
            engine.dispose()
        if not seeded:
            _seed(users, "0", False)
        engine = make_engine(settings.demo_url)
        try:
            phones = demo_phones(engine)
        finally:
            engine.dispose()
    url = f"http://{settings.host}:{port or settings.port}"
    # The demo courier (mounted at /demo/courier) is told by push unless one is configured.
    courier = settings.base_url.rstrip("/") or url
    os.environ.setdefault("EXITRIGHT_DEMO_COURIER_URL", f"{courier}/demo/courier/events")
    console.print(f"\n[bold]Demo shop:[/] {url}/shop/   [bold]API docs:[/] {url}/docs")
    console.print(
        f"[bold]Demo courier:[/] told by push at {os.environ['EXITRIGHT_DEMO_COURIER_URL']}"
    )
    console.print("Sign in with one of these demo phone numbers (the code shows on the console):")
    for phone in phones:
        console.print(f"  {phone}")
    serve(host=None, port=port, workers=1)
