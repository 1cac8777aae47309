"""``GET /metrics`` over real HTTP: the engine's figures after real requests, and no PI in them."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from exitright import worker
from exitright.pii.detect import find
from tests.integration.requests.conftest import Api, platform_phones


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition by (name, labels)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """One sample's value (KeyError if absent)."""
    return found[(name, frozenset(labels.items()))]


def drive(api: Api) -> tuple[list[str], list[str]]:
    """Submit four cancellations through the API: three verified and erased, one revoked."""
    phones = platform_phones(api.settings, 4)
    ids = []
    for phone in phones:
        r = httpx.post(
            f"{api.url}/v1/requests",
            json={"kind": "cancel", "identifiers": {"phone": phone}},
            headers=api.auth(api.writer),
            timeout=30,
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    for request_id in ids[:3]:
        r = httpx.post(f"{api.url}/v1/requests/{request_id}/verify", headers=api.auth(api.writer))
        assert r.status_code == 200, r.text
    r = httpx.post(f"{api.url}/v1/requests/{ids[3]}/revoke", headers=api.auth(api.writer))
    assert r.status_code == 200, r.text
    for _ in range(10):  # cooling-off is 0 days: a few passes take them to completion
        if worker.run_once(api.runtime, "metrics-test") == 0:
            break
    return ids, phones


def test_metrics_show_requests_steps_and_vault_after_real_requests(demo_api: Api) -> None:
    """After three erasures and a revocation, /metrics counts them by kind, state, store, basis."""
    drive(demo_api)
    r = httpx.get(f"{demo_api.url}/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(r.text)
    assert value(found, "exitright_requests", kind="cancel", state="completed") == 3
    assert value(found, "exitright_requests", kind="cancel", state="revoked") == 1
    assert value(found, "exitright_request_completion_seconds_count", kind="cancel") == 3
    assert value(found, "exitright_engine_database_up") == 1
    stores = {dict(k[1]).get("store") for k in found if k[0] == "exitright_erasure_steps"}
    assert "platform" in stores
    done = sum(
        v
        for (name, labels), v in found.items()
        if name == "exitright_erasure_step_duration_seconds_count"
    )
    assert done > 0
    bases = {dict(k[1])["legal_basis"] for k in found if k[0] == "exitright_vault_records"}
    assert bases, "the demo map keeps orders in the vault"
    # HTTP counters by route template: the verify route, never the request ids in its path.
    verify = "/v1/requests/{request_id}/verify"
    assert (
        value(found, "exitright_http_requests_total", method="POST", route=verify, status="200")
        == 3
    )
    assert not any("req_" in dict(k[1]).get("route", "") for k in found)


def test_the_whole_exposition_holds_no_personal_data(demo_api: Api) -> None:
    """Names, labels and help texts pass the PI detectors; every value is a number.

    Values are checked by parsing rather than by the detectors: a float's digits (a latency sum
    like 0.0274132999…) can pass a Luhn check by chance, and a number is not personal data.
    """
    _ids, phones = drive(demo_api)
    # A path holding a phone number: it must appear only as its route template.
    httpx.get(
        f"{demo_api.url}/v1/identifiers/{phones[0]}/status?since=2024-01-01",
        headers=demo_api.auth(demo_api.admin),
    )
    text = httpx.get(f"{demo_api.url}/metrics").text
    for phone in phones:
        assert phone not in text
    assert 'route="/v1/identifiers/{phone}/status"' in text
    checked = 0
    for family in text_string_to_metric_families(text):
        assert not list(find(family.name)), family.name
        assert not list(find(family.documentation)), family.documentation
        for s in family.samples:
            for name, label in s.labels.items():
                assert not list(find(name)) and not list(find(label)), (s.name, name, label)
            assert isinstance(s.value, float)
            checked += 1
    assert checked > 50
    # And the raw text, with the sample values taken out, is clean too.
    names_and_labels = "\n".join(
        line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")
    )
    assert not list(find(names_and_labels))
