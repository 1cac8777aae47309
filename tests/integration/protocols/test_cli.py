"""The command line end to end: our server, a reference receiver run as a courier would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from exitright.clock import SystemClock
from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.protocols.config import Transmitter, load_config
from exitright.protocols.outbox import enqueue_account_purged
from tests.conftest import LiveServer, free_port


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXITRIGHT_")}
    env["EXITRIGHT_DATA_DIR"] = str(settings.data_dir)
    env["COLUMNS"] = "200"  # Rich wraps tables to the terminal's width
    return env


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exitright.cli", "events", *args],
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """ExitRight serving its JWKS without the in-process worker, which pushes due SETs too:
    here the CLI is what delivers."""
    with LiveServer(settings.model_copy(update={"worker_in_process": False})) as server:
        yield server


@pytest.fixture
def receiver_port() -> int:
    """The port the courier's reference receiver listens on."""
    return free_port()


@pytest.fixture
def courier(
    live_server: LiveServer, settings: Settings, receiver_port: int, tmp_path: Path
) -> Iterator[Path]:
    """The reference receiver started from the command line, trusting our live JWKS."""
    journal = tmp_path / "deleted.jsonl"
    log = tmp_path / "receiver.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "exitright.cli",
                "events",
                "reference-receiver",
                "--jwks-url",
                f"{live_server.url}/.well-known/jwks.json",
                "--audience",
                f"http://127.0.0.1:{receiver_port}/events",
                "--port",
                str(receiver_port),
                "--journal",
                str(journal),
                "--db",
                str(tmp_path / "seen.db"),
            ],
            env=_env(settings),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{receiver_port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"the reference receiver did not start: {log.read_text()}")
                time.sleep(0.1)
        yield journal
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.slow
def test_deliver_pushes_to_a_reference_receiver_run_from_the_cli(
    live_server: LiveServer, settings: Settings, receiver_port: int, courier: Path
) -> None:
    """exitright events deliver --once → the courier deletes once; status shows it acknowledged."""
    (settings.data_dir / "protocols.toml").write_text(
        f'issuer = "{live_server.url}"\n\n[recipients.couriers]\n'
        f'endpoint = "http://127.0.0.1:{receiver_port}/events"\n',
        encoding="utf-8",
    )
    config = load_config(settings)
    engine = make_engine(settings.engine_url)
    try:
        with engine.begin() as conn:
            (jti,) = enqueue_account_purged(
                conn,
                SystemClock(),
                "req_cli",
                "sp_cli",
                [config.recipient("couriers")],
                {"couriers": "order-ref-7"},
                transmitter=Transmitter.from_settings(settings),
            )
    finally:
        engine.dispose()
    first = _cli(settings, "deliver", "--once")
    assert first.returncode == 0, first.stderr
    assert "1 acknowledged" in first.stdout
    assert _cli(settings, "deliver", "--once").stdout.startswith("delivered 0")
    lines = [json.loads(line) for line in courier.read_text(encoding="utf-8").splitlines()]
    assert [(e["jti"], e["event"], e["sub_id"]) for e in lines] == [
        (jti, "account-purged", {"format": "opaque", "id": "order-ref-7"})
    ]
    status = _cli(settings, "status")
    assert status.returncode == 0 and "couriers" in status.stdout


def test_poll_token_is_printed_once_and_retry_names_what_is_wrong(
    live_server: LiveServer, settings: Settings
) -> None:
    """poll-token prints an ep_ token; retry of an unknown jti exits 2 with one line."""
    issued = _cli(settings, "poll-token", "merchants")
    assert issued.returncode == 0, issued.stderr
    assert issued.stdout.strip().splitlines()[-1].startswith("ep_")
    missing = _cli(settings, "retry", "nope")
    assert missing.returncode == 2
    assert "no failed notice" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
