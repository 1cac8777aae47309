"""Worker processes: several at once on PostgreSQL complete each request exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from exitright import bootstrap
from exitright.cancellation import services
from exitright.cancellation.commands import VerifyRequest
from exitright.cancellation.cooling_off import CoolingOffPolicy
from exitright.cancellation.model import Actor, RequestKind
from exitright.cancellation.ports import Identifiers
from exitright.config import Settings
from exitright.db import migrate
from exitright.db.requests import RequestRow
from exitright.erasure.models import ErasurePlan
from exitright.ledger import service
from tests.integration.requests.conftest import platform_phones

# A worker process as `exitright worker --once` runs it, with a cooling-off of 0 days (the
# deployment setting does not exist yet; bootstrap.build takes the policy).
WORKER = textwrap.dedent(
    """
    from exitright import bootstrap, worker
    from exitright.cancellation.cooling_off import CoolingOffPolicy
    from exitright.config import Settings
    rt = bootstrap.build(Settings(), cooling_off=CoolingOffPolicy(0))
    worker.run(rt, once=True)
    rt.close()
    """
)


def env_for(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process the same settings (and key files)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("EXITRIGHT_")}
    return {
        **base,
        "EXITRIGHT_DATA_DIR": str(settings.data_dir),
        "EXITRIGHT_DATABASE_URL": settings.engine_url,
        "EXITRIGHT_DEMO_DATABASE_URL": settings.demo_url,
        "EXITRIGHT_REDIS_URL": settings.redis_url or "",
    }


def open_verified(settings: Settings, n: int) -> list[str]:
    """``n`` verified cancellations of distinct accounts, submitted through the use cases."""
    migrate.upgrade(settings.engine_url)
    rt = bootstrap.build(settings, cooling_off=CoolingOffPolicy(0))
    try:
        ids = []
        for phone in platform_phones(settings, n):
            command = services.OpenRequest(
                RequestKind.CANCEL, Identifiers("phone", phone), Actor.api_key("key_t")
            )
            request_id = services.submit(
                command, rt.uow(), rt.ports, owner="key_t"
            ).record.request.id
            services.verify(VerifyRequest(request_id, Actor.api_key("key_t")), rt.uow(), rt.ports)
            ids.append(request_id)
        return ids
    finally:
        rt.close()


def assert_each_completed_once(settings: Settings, ids: list[str]) -> None:
    """Every request completed, one plan each, one execute and one complete entry each."""
    rt = bootstrap.build(settings)
    try:
        assert service.verify_ledger(rt.engine).ok
        with rt.engine.connect() as conn:
            states = dict(conn.execute(select(RequestRow.id, RequestRow.state)).all())
            plans = Counter(
                conn.execute(
                    select(ErasurePlan.request_id).where(ErasurePlan.request_id.in_(ids))
                ).scalars()
            )
            for request_id in ids:
                events = Counter(e.event for e in service.for_request(conn, request_id))
                assert events["request.complete"] == 1, (request_id, events)
                assert events["request.execute"] == 1, (request_id, events)
            certificates = conn.execute(
                select(func.count()).where(RequestRow.certificate.is_not(None))
            ).scalar_one()
        assert {states[i] for i in ids} == {"completed"}
        assert plans == Counter({i: 1 for i in ids})
        assert certificates == len(ids)
    finally:
        rt.close()


def completed_by(settings: Settings, ids: list[str]) -> set[str]:
    """The workers that recorded the completions."""
    rt = bootstrap.build(settings)
    try:
        with rt.engine.connect() as conn:
            return {
                e.data["actor"]["id"]
                for i in ids
                for e in service.for_request(conn, i)
                if e.event == "request.complete"
            }
    finally:
        rt.close()


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("engine_url", ["postgres"], indirect=True)
def test_two_worker_processes_on_postgresql_complete_twenty_requests_exactly_once(
    platform_settings: Settings, tmp_path: Path
) -> None:
    """Both workers claim with SKIP LOCKED at the same time; no request runs twice."""
    ids = open_verified(platform_settings, 20)
    env = env_for(platform_settings)
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER], env=env, cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]  # fmt: skip
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0, out
    assert_each_completed_once(platform_settings, ids)
    assert len(completed_by(platform_settings, ids)) == 2  # both took part


@pytest.mark.parametrize("engine_url", ["sqlite"], indirect=True)
def test_exitright_worker_once_drains_the_due_requests(
    platform_settings: Settings, tmp_path: Path
) -> None:
    """The CLI command on SQLite: verified cancellations with no cooling-off left complete."""
    ids = open_verified(platform_settings, 3)
    # The deployment's cooling-off (7 days) applies to the CLI worker: move the requests
    # through cooling-off here, so that the CLI worker finds them due for execution.
    rt = bootstrap.build(platform_settings, cooling_off=CoolingOffPolicy(0))
    try:
        for request_id in ids:
            with rt.uow() as uow:
                record = uow.requests.get(request_id)
                assert record is not None
                record.request.start_cooling_off(CoolingOffPolicy(0), Actor.system("t"), rt.clock)
                record.next_run_at = record.request.cooling_off_until
                uow.requests.save(record)
                uow.commit()
    finally:
        rt.close()
    r = subprocess.run(
        [sys.executable, "-m", "exitright.cli", "worker", "--once"],
        env=env_for(platform_settings), cwd=tmp_path, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 request(s) looked at" in r.stdout
    rt = bootstrap.build(platform_settings)
    try:
        with rt.engine.connect() as conn:
            states = (
                conn.execute(select(RequestRow.state).where(RequestRow.id.in_(ids))).scalars().all()
            )
    finally:
        rt.close()
    assert set(states) == {"completed"}
