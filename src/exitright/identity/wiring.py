"""Wiring the identity service and the recycled-number guard from settings.

:func:`build_guard` and :func:`build_service` are what the CLI, the web app and the demo
platform call; :func:`identity_for` keeps one service per web app on ``app.state`` (the demo's
accounts as its directory when the demo is enabled). Keys: codes are hashed under the secret key,
identifiers under the pseudonym key (:func:`exitright.keys.load_key`).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine

from exitright.clock import Clock, SystemClock
from exitright.config import Settings
from exitright.identity.directory import AccountDirectory, SqlAccountDirectory
from exitright.identity.lookup import CamaraNumberRecycling, RecyclingLookup
from exitright.identity.providers import ConsoleProvider, providers_from_settings
from exitright.identity.recycled import RecycledGuard
from exitright.identity.service import Dispatcher, IdentityService, RequestLink, ThreadDispatcher
from exitright.keys import load_key

__all__ = ["build_guard", "build_lookup", "build_service", "identity_for"]


def build_lookup(settings: Settings) -> RecyclingLookup | None:
    """The CAMARA look-up if ``recycling_lookup_url`` is set, else None."""
    if not settings.recycling_lookup_url:
        return None
    token = settings.recycling_lookup_token
    return CamaraNumberRecycling(
        settings.recycling_lookup_url, token=token.get_secret_value() if token else None
    )


def build_guard(settings: Settings, engine: Engine, clock: Clock | None = None) -> RecycledGuard:
    """The recycled-number guard on the engine database."""
    return RecycledGuard(
        engine, clock or SystemClock(), load_key(settings, "pseudonym"), build_lookup(settings)
    )


def build_service(
    settings: Settings,
    engine: Engine,
    *,
    clock: Clock | None = None,
    directory: AccountDirectory | None = None,
    requests: RequestLink | None = None,
    console: ConsoleProvider | None = None,
    dispatcher: Dispatcher | None = None,
) -> IdentityService:
    """The identity service for ``settings`` (providers, keys, guard)."""
    clock = clock or SystemClock()
    return IdentityService(
        engine,
        clock,
        code_key=load_key(settings, "secret"),
        identifier_key=load_key(settings, "pseudonym"),
        senders=providers_from_settings(settings, console),
        directory=directory,
        guard=build_guard(settings, engine, clock),
        requests=requests,
        dispatcher=dispatcher,
    )


_lock = threading.Lock()


def identity_for(state: Any) -> IdentityService:
    """The identity service of a web app (built on first use from ``state.settings``).

    With the demo enabled, its ``users`` table is the directory and requests verify through the
    app's request workflow. ``state.identity_console`` is the console provider (when configured)
    whose :meth:`~exitright.identity.providers.ConsoleProvider.recent` a developer page shows.
    """
    with _lock:
        existing: IdentityService | None = getattr(state, "identity_service", None)
        if existing is not None:
            return existing
        from exitright import bootstrap
        from exitright.db.engine import make_engine
        from exitright.identity.requests import WorkflowRequestLink

        settings: Settings = state.settings
        directory = None
        if settings.demo_enabled:
            from exitright.demo.schema import users

            demo = make_engine(settings.demo_url)
            state.on_shutdown.append(demo.dispose)
            directory = SqlAccountDirectory(demo, users)
        console = ConsoleProvider()
        dispatcher = ThreadDispatcher()
        state.on_shutdown.append(dispatcher.shutdown)
        service = build_service(
            settings,
            state.engine,
            directory=directory,
            requests=WorkflowRequestLink(bootstrap.runtime_for(state)),
            console=console,
            dispatcher=dispatcher,
        )
        state.identity_console = console
        state.identity_service = service
        return service
