"""The demo courier: the reference receiver, mounted in the demo server, told by push.

With the demo enabled, ``/demo/courier/events`` is a :class:`ReferenceReceiver` as a courier
would run it (``exitright events reference-receiver``): it fetches our keys from
``/.well-known/jwks.json``, checks each SET's signature, issuer and audience, acts on each jti
once (seen jtis in ``<data_dir>/demo-courier/seen-sets.db``) and "deletes its copy" by appending
the event — the opaque subject id, the jti, the request id in ``txn``, never a phone number — to
``<data_dir>/demo-courier/deleted.jsonl``. ``GET /demo/courier/healthz`` counts what it accepted.

The demo map pushes to the courier at ``EXITRIGHT_DEMO_COURIER_URL``; ``exitright demo up``
points that at this mount (``<public URL>/demo/courier/events``) when it is not set, so the demo
shows a third party receiving and deleting with no extra process. Unset under a plain
``exitright serve``, the courier polls instead (RFC 8936) and this mount just waits.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Final

from exitright.config import Settings
from exitright.errors import ExitRightError
from exitright.protocols import set as sets
from exitright.protocols.config import load_config
from exitright.protocols.jwks import JwksCache
from exitright.protocols.reference_receiver import (
    JtiStore,
    ReferenceReceiver,
    create_app,
    journal_callback,
)

__all__ = ["PATH", "courier_url", "install", "journal_path"]

PATH: Final = "/demo/courier"
ENV: Final = "EXITRIGHT_DEMO_COURIER_URL"

log = logging.getLogger("exitright.demo.courier")


def courier_url(settings: Settings) -> str:
    """The demo courier's push endpoint: the environment's, else this server's mount."""
    return os.environ.get(ENV) or f"{settings.public_url.rstrip('/')}{PATH}/events"


def journal_path(settings: Settings) -> Path:
    """Where the demo courier records the copies it deleted (one JSON line per event)."""
    return settings.data_dir / "demo-courier" / "deleted.jsonl"


def install(app: Any, settings: Settings) -> None:
    """Mount the demo courier at :data:`PATH` (only when the demo is enabled)."""
    if not settings.demo_enabled:
        return
    folder = journal_path(settings).parent
    folder.mkdir(parents=True, exist_ok=True)
    journal = journal_callback(journal_path(settings))

    def delete_copy(event: sets.SecurityEvent) -> None:
        journal(event)
        log.info("demo courier deleted its copy", extra={"jti": event.jti, "txn": event.txn})

    def noted(event: sets.SecurityEvent) -> None:
        log.info("demo courier noted %s", event.name, extra={"jti": event.jti})

    try:
        issuer = load_config(settings).issuer_for(settings)
    except ExitRightError:  # a broken protocols file is reported where SETs are sent
        issuer = settings.public_url
    receiver = ReferenceReceiver(
        issuer=issuer.rstrip("/"),
        audience=courier_url(settings),
        keys=JwksCache(f"{settings.public_url.rstrip('/')}/.well-known/jwks.json"),
        on_delete=delete_copy,
        on_disable=noted,
        on_enable=noted,
        store=JtiStore(folder / "seen-sets.db"),
    )
    app.mount(PATH, create_app(receiver))
    app.state.on_shutdown.append(receiver.store.close)
