"""The app factory: ``create_app(settings)`` wires the routers, error model and middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from exitright import __version__, observability, worker
from exitright.clock import SystemClock
from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.keys import load_key
from exitright.ledger import signing
from exitright.web import errors, middleware
from exitright.web.routes import ROUTERS

OPENAPI_DESCRIPTION = """
ExitRight's JSON API. Every failure uses one error model:
`{"error": {"code": …, "message": {"zh-CN": …, "en": …}, "details": {…}}}` —
the codes are stable and listed at `GET /v1/errors` and in docs/errors.md.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ExitRight web app for ``settings`` (read from the environment if omitted)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A deployment always has a signing key, so /.well-known/jwks.json is never empty.
        with app.state.engine.begin() as conn:
            signing.current(conn, SystemClock(), signing.wrapping_key(load_key(settings, "secret")))
        yield
        for hook in app.state.on_shutdown:
            hook()
        app.state.engine.dispose()

    app = FastAPI(
        title="ExitRight",
        version=__version__,
        description=OPENAPI_DESCRIPTION,
        lifespan=lifespan,
        responses=errors.ERROR_RESPONSES,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.engine_url)
    app.state.on_shutdown = []

    errors.install(app)
    middleware.install(
        app,
        default_language=settings.default_language,
        secure_cookies=settings.environment == "production",
    )
    # Added last so it runs first: the language middleware reads the session for CSRF tokens.
    app.add_middleware(
        SessionMiddleware,
        secret_key=load_key(settings, "secret").hex(),
        session_cookie="exitright_session",
        same_site="lax",
        https_only=settings.environment == "production",
        max_age=14 * 86400,
    )
    static = resources.files("exitright.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    for router in ROUTERS:
        app.include_router(router)
    if settings.demo_enabled:
        from exitright.demo.web import router as demo_router  # only deployments that show it

        app.include_router(demo_router)
        from exitright.protocols import demo_courier  # the demo's courier, told by push

        demo_courier.install(app, settings)
    worker.install_in_process(app)
    observability.install(app, settings)
    return app
