"""What the PostgreSQL benchmarks share: throwaway databases, the ``exitright`` processes, figures.

Used by ``shop5/run.py``, ``soak/run.py`` and ``api_latency.py`` (each puts ``bench/`` on
``sys.path`` first, since the benchmarks are scripts, not a package):

* :func:`databases` creates fresh databases on a PostgreSQL server and drops them afterwards;
* :func:`environment` is the ``EXITRIGHT_*`` environment every process of a run shares (random
  keys, no cooling-off, no worker thread in the web process);
* :class:`Processes` runs ``exitright`` commands and background processes in their own sessions,
  kills one with SIGKILL and restarts it (the soak's chaos), and stops them all;
* :func:`create_operator_key`, :func:`wait_healthy` and :func:`pct` (nearest-rank percentile).
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import httpx
import psycopg

ADMIN_URL = os.environ.get("SHOP5_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
EXITRIGHT = str(Path(sys.executable).parent / "exitright")


def pg_url(admin_url: str, name: str) -> str:
    """``admin_url`` with its database replaced by ``name`` (libpq form)."""
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def sqlalchemy_url(url: str) -> str:
    """A libpq URL in SQLAlchemy's form (the psycopg 3 driver)."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@contextlib.contextmanager
def databases(admin_url: str, *prefixes: str) -> Iterator[list[str]]:
    """One fresh database per prefix (``<prefix>_<random>``, libpq URLs); all dropped afterwards."""
    tag = secrets.token_hex(5)
    names = [f"{p}_{tag}" for p in prefixes]
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        created: list[str] = []
        try:
            for name in names:
                admin.execute(f'CREATE DATABASE "{name}"')
                created.append(name)
            yield [pg_url(admin_url, n) for n in names]
        finally:
            for name in created:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(tmp: Path, engine_url: str, **settings: str) -> dict[str, str]:
    """The EXITRIGHT_* settings every process of the run shares; ``settings`` add or override.

    ``engine_url`` is a libpq URL; keyword ``demo_enabled="true"`` becomes
    ``EXITRIGHT_DEMO_ENABLED=true`` (names already upper-case are taken as they are).
    """
    base = {k: v for k, v in os.environ.items() if not k.startswith(("EXITRIGHT_", "SHOP5_"))}
    env = {
        **base,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}",
        "EXITRIGHT_CONFIG": str(tmp / "exitright.toml"),  # none: the environment only
        "EXITRIGHT_DATA_DIR": str(tmp / "var"),
        "EXITRIGHT_DATABASE_URL": sqlalchemy_url(engine_url),
        "EXITRIGHT_DEMO_ENABLED": "false",
        "EXITRIGHT_COOLING_OFF_DAYS": "0",
        "EXITRIGHT_WORKER_IN_PROCESS": "false",
        "EXITRIGHT_HOST": "127.0.0.1",
        "EXITRIGHT_PORT": str(free_port()),
        "EXITRIGHT_LOG_LEVEL": "WARNING",
        "EXITRIGHT_SECRET_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "EXITRIGHT_PSEUDONYM_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "EXITRIGHT_VAULT_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    for name, value in settings.items():
        env[name if name.isupper() else f"EXITRIGHT_{name.upper()}"] = value
    return env


class Processes:
    """``exitright`` processes in their own sessions; every one is killed on :meth:`stop`."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.args: dict[str, tuple[str, ...]] = {}

    def run(self, *args: str) -> str:
        """Run an ``exitright`` command to its end; its stdout."""
        r = subprocess.run(
            [EXITRIGHT, *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if r.returncode != 0:
            raise RuntimeError(f"exitright {' '.join(args[:2])} failed:\n{r.stdout}\n{r.stderr}")
        return r.stdout

    def start(self, name: str, *args: str) -> None:
        """Start ``exitright ARGS`` in the background, its output added to ``<cwd>/<name>.log``."""
        with (self.cwd / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(
                [EXITRIGHT, *args],
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append((name, proc))
        self.args[name] = args

    def current(self, name: str) -> subprocess.Popen[bytes]:
        """The latest process started under ``name``."""
        return next(p for n, p in reversed(self.started) if n == name)

    def kill(self, name: str) -> int:
        """SIGKILL the process group of ``name`` (no clean-up runs); returns its pid."""
        proc = self.current(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        return proc.pid

    def restart(self, name: str) -> None:
        """Start ``name`` again with the arguments it was first started with."""
        self.start(name, *self.args[name])

    def check_alive(self) -> None:
        """Fail with a process's log when its latest incarnation has exited."""
        for name in self.args:
            proc = self.current(name)
            if proc.poll() is not None:
                log = (self.cwd / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log}")

    def stop(self) -> None:
        """SIGTERM every process group, SIGKILL what is left after 20 seconds."""
        for _, proc in self.started:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _, proc in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        for _, proc in self.started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def create_operator_key(procs: Processes, name: str) -> str:
    """An API key with ``requests:write``, ``requests:read`` and ``requests:verify``; its token."""
    out = procs.run(
        "apikey", "create", name,
        "--scope", "requests:write", "--scope", "requests:read", "--scope", "requests:verify",
    )  # fmt: skip
    return next(w for w in out.split() if w.startswith("er_"))


def wait_healthy(base_url: str, procs: Processes, timeout: float = 60) -> None:
    """Until ``/healthz`` answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs.check_alive()
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the web process did not answer /healthz within {timeout:.0f}s")


Item = TypeVar("Item")


def run_clients(
    base_url: str,
    token: str,
    items: Sequence[Item],
    clients: int,
    job: Callable[[httpx.Client, Item], None],
    failed: Callable[[Item, str], None],
) -> None:
    """``clients`` threads, each with its own HTTP client, taking the next item when done.

    ``job`` does one item; an HTTP error it lets through is handed to ``failed`` as one line.
    """
    queue = list(reversed(items))
    lock = threading.Lock()

    def work() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    item = queue.pop()
                try:
                    job(client, item)
                except httpx.HTTPError as exc:
                    failed(item, f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=work) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def pct(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, for the report."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"
