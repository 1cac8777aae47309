"""The CAMARA NumberRecycling adapter against a CAMARA-shaped server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from exitright.identity.lookup import CamaraNumberRecycling, LookupAnswer

from .conftest import serve

RECYCLED = "+8613812345678"
KEPT = "+8613900000000"
TOKEN = "camara-test-token"


def camara_app(seen: list[dict[str, Any]]) -> FastAPI:
    """A NumberRecycling ``check`` endpoint with its documented errors."""
    app = FastAPI()

    @app.post("/number-recycling/v0/check")
    async def check(request: Request) -> JSONResponse:
        body = await request.json()
        seen.append({"body": body, "auth": request.headers.get("authorization")})
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"status": 401, "code": "UNAUTHENTICATED"}, status_code=401)
        phone, day = body.get("phoneNumber"), body.get("specifiedDate", "")
        if phone is None:
            return JSONResponse(
                {"status": 422, "code": "MISSING_PHONE_NUMBER", "message": "…"}, status_code=422
            )
        if day < "2020-01-01":
            return JSONResponse(
                {"status": 400, "code": "OUT_OF_RANGE", "message": "…"}, status_code=400
            )
        if phone == "+8613000000000":
            return JSONResponse({"status": 422, "code": "NOT_SUPPORTED"}, status_code=422)
        if phone == "+8613000000001":
            return JSONResponse({"surprise": True})
        if phone == "+8613000000002":
            return JSONResponse({"code": phone}, status_code=500)
        return JSONResponse({"phoneNumberRecycled": phone == RECYCLED})

    return app


@pytest.fixture
def camara() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The server's base URL and the requests it saw."""
    seen: list[dict[str, Any]] = []
    with serve(camara_app(seen)) as url:
        yield url, seen


def test_a_recycled_number_is_reported_recycled(camara: tuple[str, list[dict[str, Any]]]) -> None:
    """The body is the CAMARA one: E.164 number and the specified date; the token is sent."""
    url, seen = camara
    lookup = CamaraNumberRecycling(url, token=TOKEN)
    assert lookup.check(RECYCLED, date(2025, 11, 1)).answer is LookupAnswer.RECYCLED
    assert lookup.check(KEPT, date(2025, 11, 1)).answer is LookupAnswer.NOT_RECYCLED
    assert seen[0] == {
        "body": {"phoneNumber": RECYCLED, "specifiedDate": "2025-11-01"},
        "auth": f"Bearer {TOKEN}",
    }


def test_a_base_url_that_already_names_the_api_works_too(
    camara: tuple[str, list[dict[str, Any]]],
) -> None:
    """``…/number-recycling/v0`` as the base is not doubled."""
    url, _ = camara
    lookup = CamaraNumberRecycling(url + "/number-recycling/v0/", token=TOKEN)
    assert lookup.check(RECYCLED, date(2025, 11, 1)).answer is LookupAnswer.RECYCLED


@pytest.mark.parametrize(
    ("phone", "day", "token", "reason"),
    [
        (RECYCLED, date(2019, 1, 1), TOKEN, "400:OUT_OF_RANGE"),
        ("+8613000000000", date(2025, 1, 1), TOKEN, "422:NOT_SUPPORTED"),
        (RECYCLED, date(2025, 1, 1), "wrong", "401:UNAUTHENTICATED"),
        ("+8613000000001", date(2025, 1, 1), TOKEN, "MALFORMED_RESPONSE"),
        ("+8613000000002", date(2025, 1, 1), TOKEN, "500:ERROR"),
    ],
)
def test_errors_are_unknown_with_a_reason_never_an_exception(
    camara: tuple[str, list[dict[str, Any]]], phone: str, day: date, token: str, reason: str
) -> None:
    """OUT_OF_RANGE, NOT_SUPPORTED, auth errors, odd bodies: "unknown", and no number echoed."""
    url, _ = camara
    result = CamaraNumberRecycling(url, token=token).check(phone, day)
    assert result.answer is LookupAnswer.UNKNOWN
    assert result.reason == reason


def test_an_unreachable_provider_is_unknown() -> None:
    """Nothing listening on the port: unknown, after the timeout at most."""
    from tests.conftest import free_port

    lookup = CamaraNumberRecycling(f"http://127.0.0.1:{free_port()}", timeout=2)
    result = lookup.check(RECYCLED, date(2025, 1, 1))
    assert result.answer is LookupAnswer.UNKNOWN
    assert result.reason is not None and result.reason.startswith("UNREACHABLE")
