"""docs/deploy.md for real: the Procfile's web and worker processes against PostgreSQL.

The test runs the documented commands (migrate, seed the demo platform, create an API key),
starts ``deploy/Procfile`` as a process manager would — the web line once (``exitright serve
--workers 2``: two web processes) and the worker line twice — and takes one cancellation from
the API to ``completed``. Then it checks /metrics across the web processes, backs the engine
database up and restores it as documented, and verifies the ledger of the restored copy.
Every process is killed at the end, and every wait is bounded.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exitright.db.engine import make_engine
from exitright.db.requests import REQUESTS
from exitright.ledger import service
from exitright.pii.detect import find
from tests import servers
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[3]
PROCFILE = ROOT / "deploy" / "Procfile"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
UNITS = ROOT / "deploy" / "systemd"
REDIS_DB = 6
KEY = base64.b64encode(b"deploy-test-key-".ljust(32, b"k")).decode()

# The commands of docs/deploy.md, as the tests run them ($VARS come from the environment).
COMMANDS = {
    "upgrade": "exitright db upgrade",
    "current": "exitright db current",
    "seed": "exitright demo seed --users 20 --seed 3",
    "phones": "exitright demo phones",
    "apikey": 'exitright apikey create "shop back end" --scope requests:write'
    " --scope requests:read --scope requests:verify",
    "dump": 'pg_dump --format=custom --file="$BACKUP" "$PGURL"',
    "restore": 'pg_restore --no-owner --dbname="$RESTORE_PGURL" "$BACKUP"',
    "verify_ledger": "exitright ledger verify",
    "systemd": "systemd-analyze verify deploy/systemd/exitright-web.service"
    " deploy/systemd/exitright-worker@1.service",
}


def procfile() -> dict[str, str]:
    """The Procfile's process types and their command lines."""
    lines = PROCFILE.read_text(encoding="utf-8").splitlines()
    found = (re.fullmatch(r"([A-Za-z0-9_-]+):\s*(.+)", line) for line in lines)
    return {m.group(1): m.group(2) for m in found if m}


def libpq(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq (pg_dump, pg_restore) takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def environment(tmp: Path, engine_url: str) -> dict[str, str]:
    """A deployment's environment file, as docs/deploy.md lists it."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("EXITRIGHT_")}
    metrics = tmp / "metrics"
    metrics.mkdir()
    return {
        **base,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}",
        "EXITRIGHT_DATA_DIR": str(tmp / "var"),
        "EXITRIGHT_DATABASE_URL": engine_url,
        "EXITRIGHT_DEMO_DATABASE_URL": f"sqlite:///{tmp / 'demo-platform.db'}",
        "EXITRIGHT_REDIS_URL": servers.redis_url(REDIS_DB),
        "EXITRIGHT_SECRET_KEY": KEY,
        "EXITRIGHT_PSEUDONYM_KEY": KEY,
        "EXITRIGHT_VAULT_MASTER_KEY": KEY,
        "EXITRIGHT_WORKER_IN_PROCESS": "false",
        "EXITRIGHT_PORT": str(free_port()),
        "EXITRIGHT_LOG_LEVEL": "INFO",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        "WEB_CONCURRENCY": "2",
    }


def sh(command: str, env: dict[str, str], cwd: Path, timeout: float = 120) -> str:
    """Run one documented command with bash; its stdout, or the test fails with its output."""
    r = subprocess.run(
        ["bash", "-c", command],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert r.returncode == 0, f"{command}\n{r.stdout}\n{r.stderr}"
    return r.stdout


class Processes:
    """Process groups started from Procfile lines; all of them are killed on exit."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, command: str) -> subprocess.Popen[bytes]:
        """Start ``command`` in a new session (so its children can be killed with it)."""
        with (self.cwd / f"{name}-{len(self.started)}.log").open("wb") as log:
            proc = subprocess.Popen(
                ["bash", "-c", command],
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append((name, proc))
        return proc

    def output(self) -> str:
        """What every process wrote so far (for failure messages)."""
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.cwd.glob("*.log"))
        )

    def stop(self) -> None:
        """SIGTERM every group, then SIGKILL what is left after 20 seconds."""
        for _, proc in self.started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _, proc in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        for _, proc in self.started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # children (uvicorn's workers) too
            proc.wait(timeout=10)


@pytest.fixture
def processes(tmp_path: Path, postgres_url: str) -> Iterator[Processes]:
    """A deployment environment on a fresh PostgreSQL database; its processes die with the test."""
    procs = Processes(environment(tmp_path, postgres_url), tmp_path)
    try:
        yield procs
    finally:
        procs.stop()


def wait_until(what: str, check: Callable[[], bool], timeout: float, procs: Processes) -> None:
    """Poll ``check()`` until true, or fail after ``timeout`` seconds with the processes' logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    pytest.fail(f"{what} within {timeout}s\n{procs.output()}")


def end_cooling_off(engine_url: str, request_id: str) -> None:
    """Move the request's 7-day cooling-off to its end (the deployment cannot set it yet)."""
    engine = make_engine(engine_url)
    now = datetime.now(UTC)
    try:
        with engine.begin() as conn:
            row = conn.execute(REQUESTS.select().where(REQUESTS.c.id == request_id)).one()
            assert row.state == "cooling_off", row.state
            data = dict(row.data)
            data["cooling_off_until"] = (now - timedelta(seconds=1)).isoformat()
            moved = conn.execute(
                REQUESTS.update()
                .where(REQUESTS.c.id == request_id, REQUESTS.c.version == row.version)
                .values(data=data, next_run_at=now, version=row.version + 1)
            ).rowcount
            assert moved == 1
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_the_procfile_runs_two_web_and_two_worker_processes_to_a_completed_cancellation(
    processes: Processes, postgres_url: str, tmp_path: Path
) -> None:
    """Submit and verify through the API; one of the two worker processes completes it."""
    env, cwd = processes.env, processes.cwd
    sh(COMMANDS["upgrade"], env, cwd)
    assert "head" in sh(COMMANDS["current"], env, cwd)
    sh(COMMANDS["seed"], env, cwd, timeout=300)
    phone = sh(COMMANDS["phones"], env, cwd).split()[0]
    token = sh(COMMANDS["apikey"], env, cwd).strip().splitlines()[-1]
    assert token.startswith("er_")

    lines = procfile()
    assert set(lines) == {"web", "worker"}
    processes.start("web", lines["web"])
    workers = [processes.start("worker", lines["worker"]) for _ in range(2)]
    url = f"http://127.0.0.1:{env['EXITRIGHT_PORT']}"
    wait_until(
        "the web processes answer /healthz",
        lambda: httpx.get(f"{url}/healthz", timeout=2).status_code == 200,
        60,
        processes,
    )

    h = {"Authorization": f"Bearer {token}"}
    r = httpx.post(
        f"{url}/v1/requests",
        headers=h,
        timeout=30,
        json={"kind": "cancel", "identifiers": {"phone": phone}},
    )
    assert r.status_code == 201, r.text
    request_id = r.json()["id"]
    r = httpx.post(f"{url}/v1/requests/{request_id}/verify", headers=h, timeout=30)
    assert r.status_code == 200 and r.json()["state"] == "verified", r.text

    def state_is(state: str) -> Callable[[], bool]:
        def check() -> bool:
            body = httpx.get(f"{url}/v1/requests/{request_id}", headers=h, timeout=5).json()
            return bool(body["state"] == state)

        return check

    # A worker runs the pre-checks and starts the cooling-off; the test ends it.
    wait_until("a worker starts the cooling-off", state_is("cooling_off"), 60, processes)
    end_cooling_off(postgres_url, request_id)
    wait_until("the request completes", state_is("completed"), 120, processes)
    assert all(w.poll() is None for w in workers), processes.output()

    engine = make_engine(postgres_url)
    try:
        with engine.connect() as conn:
            done = [
                e for e in service.for_request(conn, request_id) if e.event == "request.complete"
            ]
        assert service.verify_ledger(engine).ok
    finally:
        engine.dispose()
    assert len(done) == 1
    worker_pids = {pid for w in workers for pid in group_pids(w.pid)}
    assert int(done[0].data["actor"]["id"].split(":")[1]) in worker_pids

    # Metrics: the engine's figures from the database; HTTP counts summed over web processes.
    for _ in range(20):
        assert httpx.get(f"{url}/v1/meta", timeout=5).status_code == 200
    text = httpx.get(f"{url}/metrics", timeout=10).text
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }
    assert found[("exitright_requests", (("kind", "cancel"), ("state", "completed")))] == 1
    meta = (
        "exitright_http_requests_total",
        (("method", "GET"), ("route", "/v1/meta"), ("status", "200")),
    )
    assert found[meta] == 20

    # What the web and worker processes logged holds no personal data.
    logged = [line for log in cwd.glob("*.log") for line in log.read_text().splitlines()]
    assert any("Application startup complete" in line for line in logged)
    assert not [(f.kind, line) for line in logged for f in find(line)]

    # Backup and restore as documented; the restored copy's ledger verifies.
    with servers.postgres_database() as restore_url:
        backup_env = {
            **env,
            "BACKUP": str(tmp_path / "engine.dump"),
            "PGURL": libpq(postgres_url),
            "RESTORE_PGURL": libpq(restore_url),
        }
        sh(COMMANDS["dump"], backup_env, cwd)
        sh(COMMANDS["restore"], backup_env, cwd)
        out = sh(COMMANDS["verify_ledger"], {**env, "EXITRIGHT_DATABASE_URL": restore_url}, cwd)
        assert "ledger intact" in out


def group_pids(pgid: int) -> set[int]:
    """Every live process in process group ``pgid`` (from /proc)."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            pids.add(int(stat.parent.name))
    return pids


def test_the_systemd_units_verify_and_run_the_procfile_commands(tmp_path: Path) -> None:
    """systemd-analyze accepts both units; their ExecStart lines are the Procfile's commands."""
    if not Path("/usr/bin/systemd-analyze").exists():
        pytest.skip("systemd-analyze is not installed")
    # The units name /opt/exitright/.venv; point them at this checkout's venv to verify them.
    exe = str(Path(sys.executable).parent / "exitright")
    (tmp_path / "deploy" / "systemd").mkdir(parents=True)
    for unit in UNITS.glob("*.service"):
        text = unit.read_text(encoding="utf-8").replace("/opt/exitright/.venv/bin/exitright", exe)
        (tmp_path / "deploy" / "systemd" / unit.name).write_text(text, encoding="utf-8")
    template = tmp_path / "deploy" / "systemd" / "exitright-worker@.service"
    (tmp_path / "deploy" / "systemd" / "exitright-worker@1.service").write_text(
        template.read_text(encoding="utf-8"), encoding="utf-8"
    )
    r = subprocess.run(
        ["bash", "-c", COMMANDS["systemd"] + " --man=no"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    execs = {
        unit.name: re.search(r"^ExecStart=\S+/exitright (.+)$", unit.read_text(), re.M)
        for unit in UNITS.glob("*.service")
    }
    web, work = execs["exitright-web.service"], execs["exitright-worker@.service"]
    assert web is not None and work is not None
    lines = procfile()
    assert shlex.split(web.group(1))[:2] == shlex.split(lines["web"])[1:3] == ["serve", "--workers"]
    assert shlex.split(work.group(1))[0] == shlex.split(lines["worker"])[1] == "worker"


def test_every_command_in_deploy_md_is_one_the_tests_run() -> None:
    """Each shell line of docs/deploy.md's command blocks is exercised here (or is systemctl)."""
    text = DEPLOY_DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    assert blocks
    run = {" ".join(shlex.split(c)) for c in COMMANDS.values()}
    procfile_lines = {" ".join(shlex.split(c)) for c in procfile().values()}
    for block in blocks:
        for line in block.splitlines():
            line = line.split("  #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            words = " ".join(shlex.split(line))
            if words.startswith(("systemctl ", "install ", "useradd ", "honcho ")):
                continue  # host administration: systemd units are checked by systemd-analyze
            assert words in run or words in procfile_lines, f"not exercised by a test: {line}"
