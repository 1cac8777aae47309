"""Fuzz the whole ``/v1`` API from its OpenAPI document (schemathesis), over real HTTP.

Every operation gets up to 25 valid and 25 invalid inputs, with an admin key (so that inputs
reach past authentication). Every response must be < 500, and every error response must be the
error model ``{"error": {"code", "message": {"zh-CN", "en"}, "details"}}`` — except the 400s
of the two Security Event Token endpoints, whose ``{"err", "description"}`` body RFC 8935 §2.3
and RFC 8936 §2.4 prescribe. All failures are collected and reported together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from exitright import worker
from tests.integration.requests.conftest import Api, platform_phones

MAX_EXAMPLES = 25
RFC_ERROR_PATHS = frozenset({"/v1/events/receive", "/v1/events/poll"})


@dataclass(frozen=True)
class Failure:
    """One bad response: where, what, and the shape (not the values) of the input."""

    operation: str
    mode: str
    status: int
    problem: str
    shape: str


def shape(value: Any) -> str:
    """The structure of an input with its values replaced by their types."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {shape(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(shape(v) for v in value[:3]) + ("…" if len(value) > 3 else "") + "]"
    return type(value).__name__


def error_model_problem(body: Any) -> str | None:
    """What is wrong with ``body`` as the error model, or None."""
    if not isinstance(body, dict) or set(body) != {"error"}:
        return "body is not {'error': …}"
    error = body["error"]
    if not isinstance(error, dict) or set(error) != {"code", "message", "details"}:
        return "error lacks code/message/details"
    message = error["message"]
    if not isinstance(error["code"], str) or not error["code"]:
        return "code is not a string"
    if not isinstance(message, dict) or set(message) != {"zh-CN", "en"}:
        return "message is not {zh-CN, en}"
    if not all(isinstance(v, str) and v for v in message.values()):
        return "a message is empty"
    if not isinstance(error["details"], dict):
        return "details is not an object"
    return None


def check(operation: Any, case: Any, response: Any, mode: str) -> Failure | None:
    """The failure this response is, if any."""
    status = int(response.status_code)
    where = f"{operation.method.upper()} {operation.path}"
    described = shape(
        {
            "path": case.path_parameters or {},
            "query": case.query or {},
            "body": case.body if isinstance(case.body, (dict, list)) else type(case.body).__name__,
        }
    )
    if status >= 500:
        return Failure(where, mode, status, "server error", described)
    if status < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return Failure(where, mode, status, "error body is not JSON", described)
    if operation.path in RFC_ERROR_PATHS and status == 400 and {"err", "description"} <= set(body):
        return None
    problem = error_model_problem(body)
    return Failure(where, mode, status, problem, described) if problem else None


class Fuzzer:
    """Calls one live API with an admin key and collects the failures."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.headers = {"Authorization": f"Bearer {api.admin}"}
        self.failures: list[Failure] = []
        self.calls = 0

    def run(
        self, operation: Any, mode: GenerationMode, fixed: dict[str, str] | None = None
    ) -> None:
        """Up to MAX_EXAMPLES inputs of ``mode`` to ``operation`` (some path parameters fixed)."""

        @hypothesis.settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
        def one(case: Any) -> None:
            response = case.call(base_url=self.api.url, headers=self.headers, timeout=30)
            self.calls += 1
            found = check(operation, case, response, mode.value)
            if found is not None and found not in self.failures:
                self.failures.append(found)

        try:
            one()
        except hypothesis.errors.Unsatisfiable:
            # An operation without parameters or body has no invalid input to generate.
            assert mode is GenerationMode.NEGATIVE, operation.path


def existing(api: Api) -> dict[str, list[str]]:
    """Real path parameters: requests in several states, and a seeded phone number."""
    phones = platform_phones(api.settings, 4)
    admin = {"Authorization": f"Bearer {api.admin}"}
    ids = []
    for phone in phones:
        r = httpx.post(
            f"{api.url}/v1/requests",
            headers=admin,
            timeout=30,
            json={"kind": "cancel", "identifiers": {"phone": phone}},
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    for request_id in ids[1:3]:
        assert httpx.post(f"{api.url}/v1/requests/{request_id}/verify", headers=admin).is_success
    for _ in range(10):  # the second one completes (cooling-off is 0 days)
        if worker.run_once(api.runtime, "fuzz") == 0:
            break
    assert httpx.post(f"{api.url}/v1/requests/{ids[3]}/revoke", headers=admin).is_success
    return {"request_id": ids, "phone": phones[:1]}


def fuzz(api: Api) -> tuple[list[Failure], int, int]:
    """Run every /v1 operation; returns the failures, the operations and the calls made.

    Operations with a path parameter run again with real values (requests submitted,
    cooling off, completed and revoked; a seeded phone), so inputs reach past the 404.
    """
    real = existing(api)
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    fuzzer = Fuzzer(api)
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if not operation.path.startswith("/v1"):
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzzer.run(operation, mode)
            for name, values in real.items():
                if "{" + name + "}" in operation.path:
                    for v in values:
                        fuzzer.run(operation, mode, {name: v})
    return fuzzer.failures, operations, fuzzer.calls


def test_no_v1_operation_answers_5xx_or_leaves_the_error_model(demo_api: Api) -> None:
    """Valid and invalid inputs to every /v1 operation: < 500, errors in the error model."""
    failures, operations, calls = fuzz(demo_api)
    assert operations >= 8, operations
    assert calls >= operations * 10, calls
    report = "\n".join(
        f"{f.status} {f.operation} [{f.mode}] {f.problem}: {f.shape}" for f in failures[:40]
    )
    assert not failures, f"{len(failures)} failures in {calls} calls:\n{report}"
