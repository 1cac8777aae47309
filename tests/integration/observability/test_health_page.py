"""The console's health page shows, at a glance, the same figures ``/metrics`` exposes.

After real requests through the API and the worker, the page's figures (each cell marked with
``data-figure``) are compared with the Prometheus exposition scraped from the same server:
requests by kind and state, overdue, completions, erasure steps and failed attempts per store,
acknowledgements per recipient and the vault by legal basis.
"""

from __future__ import annotations

import re

import httpx

from exitright.admin import operators
from exitright.admin.models import Role
from exitright.cancellation.model import RequestKind, State
from exitright.clock import SystemClock
from exitright.pii.detect import find
from tests.integration.observability.test_metrics import drive, samples
from tests.integration.requests.conftest import Api

PASSWORD = "a long test passphrase"
_FIGURE = re.compile(r'data-figure="([^"]+)"[^>]*>([^<]*)<')


def shown(html: str) -> dict[str, int]:
    """Every figure on the page, by its data-figure name."""
    return {name: int(value) for name, value in _FIGURE.findall(html)}


def signed_in(api: Api) -> httpx.Client:
    """A viewer's console session on the live server."""
    operators.create_operator(api.engine, SystemClock(), "watcher", Role.VIEWER, PASSWORD)
    client = httpx.Client(base_url=api.url, headers={"Accept-Language": "en"}, timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/sign-in").text)
    assert token is not None
    r = client.post(
        "/admin/sign-in",
        data={"name": "watcher", "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert r.status_code == 303, r.text
    return client


def test_the_health_page_shows_what_metrics_shows(demo_api: Api) -> None:
    """Requests, overdue, completions, steps and failures per store, acks and vault all agree."""
    drive(demo_api)
    metrics = samples(httpx.get(f"{demo_api.url}/metrics").text)
    client = signed_in(demo_api)
    try:
        page = client.get("/admin/")
    finally:
        client.close()
    assert page.status_code == 200
    figures = shown(page.text)

    def metric(name: str, label: str) -> dict[str, float]:
        return {dict(k[1])[label]: v for k, v in metrics.items() if k[0] == name}

    for kind in RequestKind:
        for state in State:
            expected = metrics.get(
                (
                    "exitright_requests",
                    frozenset({"kind": kind.value, "state": state.value}.items()),
                ),
                0.0,
            )
            assert figures[f"requests:{kind.value}:{state.value}"] == expected, (kind, state)
        overdue = metric("exitright_requests_overdue", "kind").get(kind.value, 0.0)
        assert figures[f"overdue:{kind.value}"] == overdue
    completed = metric("exitright_request_completion_seconds_count", "kind")
    assert completed == {"cancel": 3.0}
    assert figures["completed:cancel"] == 3
    failures = metric("exitright_erasure_step_failures_total", "store")
    assert failures and all(figures[f"failures:{s}"] == v for s, v in failures.items())
    steps = {
        (dict(k[1])["store"], dict(k[1])["status"]): v
        for k, v in metrics.items()
        if k[0] == "exitright_erasure_steps"
    }
    assert steps and all(figures[f"steps:{s}:{st}"] == v for (s, st), v in steps.items())
    vault = metric("exitright_vault_records", "legal_basis")
    assert vault and all(figures[f"vault:{b}"] == v for b, v in vault.items())
    vault_bytes = metric("exitright_vault_bytes", "legal_basis")
    assert all(figures[f"vault-bytes:{b}"] == v for b, v in vault_bytes.items())
    acked = metric("exitright_recipient_ack_lag_seconds_count", "recipient")
    assert all(figures[f"acked:{r}"] == v for r, v in acked.items())
    section = page.text[page.text.index('id="figures"') :]
    assert not [f for f in find(section) if f.kind in ("phone", "email", "id_number")]


def test_the_health_page_reads_in_chinese_too(demo_api: Api) -> None:
    """The figures' headings come from the catalog in both languages."""
    client = signed_in(demo_api)
    try:
        zh = client.get("/admin/", params={"lang": "zh-CN"})
    finally:
        client.close()
    assert zh.status_code == 200
    assert "运行数据" in zh.text and "admin.figures" not in zh.text
