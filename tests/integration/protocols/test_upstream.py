"""account-purged from an upstream identity provider opens a cancellation, over real HTTP.

The identity provider signs a RISC ``account-purged`` SET naming one of the demo shop's accounts
by phone number and pushes it (RFC 8935) to ``/v1/events/receive``. ExitRight opens one verified
``cancel`` request for it — a repeat delivery of the same jti opens nothing more — and the worker
carries it to a certificate. A subject we do not know gets the same 202 and changes nothing; a
forged or wrongly addressed SET is refused and opens nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import OKPKey
from sqlalchemy import select

from exitright import bootstrap, worker
from exitright.clock import SystemClock
from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.demo.schema import users
from exitright.demo.seed import seed_platform
from exitright.protocols import receiver
from exitright.protocols import set as sets
from exitright.protocols.upstream import issuer_owner
from exitright.web import auth
from tests.conftest import LiveServer
from tests.integration.protocols.conftest import Loopback

IDP = "https://id.example"
OURS = "https://shop.example"  # our issuer, the aud the identity provider addresses us by
IDP_KEY = OKPKey.generate_key("Ed25519", parameters={"kid": "idp-1", "alg": "Ed25519"})
IMPOSTOR_KEY = OKPKey.generate_key("Ed25519", parameters={"kid": "idp-1", "alg": "Ed25519"})
UNKNOWN_PHONE = "+8613700000000"  # the seeded shop has no such account


def purged(
    jti: str, phone: str, *, key: OKPKey = IDP_KEY, aud: str = OURS, fmt: str = "phone_number"
) -> str:
    """An account-purged SET as the identity provider sends it."""
    claims = sets.build_claims(
        issuer=IDP,
        audience=aud,
        event="account-purged",
        sub_id=sets.subject_id(fmt, phone),  # type: ignore[arg-type]  # the test picks formats
        jti=jti,
        iat=int(SystemClock().now().timestamp()),
    )
    return sets.sign(claims, key)


@dataclass
class Platform:
    """ExitRight (cooling-off 0 days, no in-process worker) trusting the identity provider."""

    server: LiveServer
    settings: Settings
    admin: dict[str, str]

    @property
    def app(self) -> FastAPI:
        """The served app (its state holds the workflow the worker runs)."""
        return cast(FastAPI, self.server.server.config.app)

    def push(self, token: str) -> httpx.Response:
        """POST the SET to our RFC 8935 endpoint."""
        return httpx.post(
            f"{self.server.url}/v1/events/receive",
            content=token.encode(),
            headers={"Content-Type": sets.MEDIA_TYPE},
            timeout=30,
        )

    def requests(self) -> list[dict[str, Any]]:
        """Every request, as an admin sees it through GET /v1/requests."""
        r = httpx.get(f"{self.server.url}/v1/requests", headers=self.admin, timeout=30)
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    def outcomes(self) -> dict[str, str]:
        """jti → outcome of every SET received."""
        engine = make_engine(self.settings.engine_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(select(receiver.RECEIVED.c.jti, receiver.RECEIVED.c.outcome))
                return {str(r.jti): str(r.outcome) for r in rows}
        finally:
            engine.dispose()


@pytest.fixture
def idp_jwks() -> Iterator[str]:
    """The identity provider's JWKS, served on loopback."""
    app = FastAPI()

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        return {"keys": [IDP_KEY.as_dict(private=False)]}

    with Loopback(app) as server:
        yield f"{server.url}/jwks"


@pytest.fixture
def platform(
    settings: Settings, engine_url: str, tmp_path: Path, idp_jwks: str
) -> Iterator[Platform]:
    """A seeded demo shop; ExitRight trusts the identity provider as an upstream one."""
    configured = settings.model_copy(
        update={
            "database_url": engine_url,
            "demo_database_url": f"sqlite:///{tmp_path / 'demo-platform.db'}",
            "worker_in_process": False,
            "cooling_off_days": 0,
        }
    )
    demo = make_engine(configured.demo_url)
    try:
        seed_platform(demo, users=20, seed=5, uploads_dir=configured.data_dir / "uploads")
    finally:
        demo.dispose()
    configured.data_dir.mkdir(parents=True, exist_ok=True)
    (configured.data_dir / "protocols.toml").write_text(
        f'issuer = "{OURS}"\n\n[[trusted_issuers]]\nissuer = "{IDP}"\njwks_uri = "{idp_jwks}"\n'
        'events = ["account-purged"]\nopens_cancellation = true\n'
        'subject_format = "phone_number"\n',
        encoding="utf-8",
    )
    with LiveServer(configured) as server:
        app = cast(FastAPI, server.server.config.app)
        token = auth.create_key(app.state.engine, SystemClock(), "auditor", ["admin"])[1]
        yield Platform(server, configured, {"Authorization": f"Bearer {token}"})


def _a_phone(settings: Settings) -> str:
    demo = make_engine(settings.demo_url)
    try:
        with demo.connect() as conn:
            phone = conn.execute(
                select(users.c.phone).where(users.c.phone.is_not(None)).order_by(users.c.id)
            ).scalar()
    finally:
        demo.dispose()
    assert phone is not None
    return str(phone)


def test_a_purge_upstream_opens_one_verified_cancellation_that_completes(
    platform: Platform,
) -> None:
    """202 twice for one jti, one request opened by the issuer, completed by the worker."""
    phone = _a_phone(platform.settings)
    token = purged("idp-purge-1", phone)

    assert platform.push(token).status_code == 202
    assert platform.push(token).status_code == 202  # the issuer retried: nothing more opens

    (opened,) = platform.requests()
    assert (opened["kind"], opened["state"]) == ("cancel", "verified")
    steps = [(s["action"], s["actor"]) for s in opened["timeline"]]
    issuer = {"kind": "api_key", "id": f"set:{IDP}"}
    assert steps == [("submit", issuer), ("verify", issuer)]
    assert platform.outcomes() == {"idp-purge-1": f"opened:{opened['id']}"}

    worker.run(bootstrap.runtime_for(platform.app.state), once=True)

    (done,) = platform.requests()
    assert done["id"] == opened["id"] and done["state"] == "completed", done
    assert done["certificate_url"] == f"/v1/requests/{done['id']}/certificate"
    demo = make_engine(platform.settings.demo_url)
    try:
        with demo.connect() as conn:
            left = conn.execute(select(users.c.id).where(users.c.phone == phone)).all()
    finally:
        demo.dispose()
    assert left == []
    # A third delivery after completion is still the same SET: acknowledged, nothing reopened.
    assert platform.push(token).status_code == 202
    assert [r["id"] for r in platform.requests()] == [done["id"]]


def test_an_unknown_subject_is_acknowledged_and_changes_nothing(platform: Platform) -> None:
    """The same 202 as for a known account (nothing revealed); no request; recorded for ops."""
    assert platform.push(purged("idp-unknown", UNKNOWN_PHONE)).status_code == 202
    assert platform.requests() == []
    assert platform.outcomes() == {"idp-unknown": "unknown_subject"}


@pytest.mark.parametrize(
    ("token", "err"),
    [
        (purged("idp-forged", "13800138000", key=IMPOSTOR_KEY), "invalid_key"),
        (purged("idp-aud", "13800138000", aud="https://other.example"), "invalid_audience"),
        (purged("idp-fmt", "someone@example.com", fmt="email"), "invalid_request"),
    ],
    ids=["forged", "wrong-audience", "wrong-subject-format"],
)
def test_a_forged_or_misaddressed_purge_is_refused_and_opens_nothing(
    platform: Platform, token: str, err: str
) -> None:
    """400 with the RFC 8935 err; no request, no receipt."""
    answer = platform.push(token)
    assert (answer.status_code, answer.json()["err"]) == (400, err)
    assert platform.requests() == []
    assert platform.outcomes() == {}


def test_the_owner_of_issuer_requests_fits_the_column_and_hides_the_url() -> None:
    """A stable base32 digest: no URL, no digits that could read as a phone number."""
    owner = issuer_owner("https://id.example/" + "x" * 300)
    assert owner == issuer_owner("https://id.example/" + "x" * 300)
    assert owner.startswith("set:") and len(owner) <= 64 and "example" not in owner
