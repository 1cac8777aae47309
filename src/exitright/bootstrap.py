"""The one place that wires the request workflow: engine database, erasure, keys, clock, policies.

:func:`build` returns a :class:`Runtime` — the ports the use cases of
:mod:`exitright.cancellation.services` take, and a factory of units of work. The web app, the
worker and the CLI each build one; tests build one with their own clock, map and engines.
:class:`EngineEraser` is the adapter of the ``Eraser`` port onto :mod:`exitright.erasure.service`;
:class:`OutboxNotifier` the adapter of the ``Notifier`` port onto the Security Event Token outbox
(:mod:`exitright.protocols`), and :class:`SetDelivery` what the worker pushes due SETs with.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Final

import httpx
import redis
from pydantic import ValidationError
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from exitright.cancellation.calendar_data import load_arrangements, packaged_arrangements
from exitright.cancellation.cooling_off import CoolingOffPolicy, validate_timing
from exitright.cancellation.deadlines import DeadlinePolicy, Regime, deadline_policy
from exitright.cancellation.model import Request
from exitright.cancellation.ports import (
    EraserBusyError,
    ErasureOutcome,
    Identifiers,
    Notifier,
    Ports,
    RecipientNotice,
    RetryPolicy,
    TableCounts,
    UnitOfWork,
)
from exitright.clock import Clock, SystemClock
from exitright.config import Settings
from exitright.datamap.loader import load_map
from exitright.datamap.model import DataMap, RedisStore
from exitright.db.engine import make_engine
from exitright.db.requests import IdentifierCipher, SqlRequestRepository, SqlUnitOfWork
from exitright.erasure import service as erasure
from exitright.erasure.context import ErasureContext
from exitright.erasure.executor import run_plan
from exitright.erasure.models import ErasurePlan
from exitright.errors import ErrorCode, ExitRightError
from exitright.heartbeat import PLAN_LEASE
from exitright.keys import load_key
from exitright.ledger.signing import wrapping_key
from exitright.precheck_wiring import build_prechecks
from exitright.privacy.archives import ExportArchives
from exitright.privacy.executors import kind_executors
from exitright.protocols import notices as outbox_notices
from exitright.protocols import outbox, push
from exitright.protocols.config import (
    ProtocolsConfig,
    RecipientConfig,
    Transmitter,
    load_config,
)
from exitright.protocols.runtime import ProtocolsRuntime
from exitright.protocols.set import e164
from exitright.pseudonym import keyed_hash, pseudonym
from exitright.vault.crypto import LocalKeyWrapper
from exitright.vault.models import VaultRecord
from exitright.vault.service import VaultService

__all__ = [
    "EngineEraser",
    "OutboxNotifier",
    "Runtime",
    "SetDelivery",
    "build",
    "deadline_policies",
    "demo_map",
    "protocols_runtime",
    "recipient_configs",
    "recipient_subject_id",
    "runtime_for",
]


class EngineEraser:
    """The ``Eraser`` port on the erasure engine: one plan per request, found again on re-runs."""

    def __init__(self, ctx: ErasureContext, dm: DataMap) -> None:
        self.ctx = ctx
        self.dm = dm

    @staticmethod
    def _lookup(identifiers: Identifiers) -> erasure.Lookup:
        return erasure.Lookup(identifiers.kind, identifiers.value)

    def exists(self, identifiers: Identifiers) -> bool:
        """Whether an account of the platform is named by ``identifiers``."""
        _ids, found = erasure.resolve(self.ctx, self.dm, self._lookup(identifiers))
        return found

    def subject_ref(self, identifiers: Identifiers) -> str:
        """The pseudonym the erasure plan will carry (account id if found, else the identifier)."""
        lookup = self._lookup(identifiers)
        ids, _found = erasure.resolve(self.ctx, self.dm, lookup)
        if ids.user_id is not None:
            return pseudonym(self.ctx.pseudonym_key, self.dm.platform, str(ids.user_id))
        return pseudonym(
            self.ctx.pseudonym_key, self.dm.platform, f"{lookup.kind}:{ids.get(lookup.kind)}"
        )

    def plan(self, request_id: str, identifiers: Identifiers) -> str:
        """The plan already persisted for ``request_id``, or a new one."""
        with Session(self.ctx.engine) as s:
            existing = s.scalars(
                select(ErasurePlan.id)
                .where(ErasurePlan.request_id == request_id)
                .order_by(ErasurePlan.created_at)
                .limit(1)
            ).first()
        if existing is not None:
            return existing
        return erasure.plan_erasure(
            self.ctx, self.dm, self._lookup(identifiers), request_id=request_id
        )

    def run(self, plan_id: str, worker: str) -> ErasureOutcome:
        """Run the plan unless it already completed; report its counts and retention."""
        with Session(self.ctx.engine) as s:
            status = s.scalar(select(ErasurePlan.status).where(ErasurePlan.id == plan_id))
        if status != "completed":
            try:
                run_plan(self.ctx, self.dm, plan_id, worker=worker)
            except ExitRightError as exc:
                if exc.message_id == "erasure.plan_busy":
                    raise EraserBusyError(plan_id) from exc
                raise
        summary = erasure.summarize(self.ctx, plan_id)
        kept = self._retention(plan_id)
        tables = [
            TableCounts(
                store=store,
                table=table,
                counts={k: int(v) for k, v in counts.items()},
                legal_basis=kept.get((store, table), (None, None))[0],
                retain_until=kept.get((store, table), (None, None))[1],
            )
            for (store, table), counts in summary.tables.items()
        ]
        return ErasureOutcome(
            status="completed" if summary.status == "completed" else "failed",
            tables=tables,
            residual_hits=len(summary.hits),
            failed_step=summary.failed_step,
        )

    def _retention(self, plan_id: str) -> dict[tuple[str, str], tuple[str, str]]:
        """Per table, the legal basis and the latest expiry of the rows the vault keeps."""
        with Session(self.ctx.engine) as s:
            rows = s.execute(
                select(
                    VaultRecord.store,
                    VaultRecord.table_name,
                    VaultRecord.legal_basis,
                    func.max(VaultRecord.retain_until),
                )
                .where(VaultRecord.plan_id == plan_id)
                .group_by(VaultRecord.store, VaultRecord.table_name, VaultRecord.legal_basis)
            ).all()
        out: dict[tuple[str, str], tuple[str, str]] = {}
        for store, table, basis, until in rows:
            out[(store, table)] = (basis, until.isoformat() if until else "")
        return out


# Third parties: the Notifier port on the SET outbox -------------------------------------------

RECIPIENT_PURPOSE: Final = "recipient-subject"
SKIPPED: Final = "recipient.notice.skipped"  # ledger: a recipient that could not be told


def recipient_subject_id(pseudonym_key: bytes, recipient: str, subject_ref: str) -> str:
    """The opaque id under which ``recipient`` knows the subject (``sub_id`` format ``opaque``).

    A keyed hash (the pseudonym key, a purpose per recipient) of the subject's pseudonym — which
    is itself keyed on the account id, so the id is the same however a request named the
    account, reveals nothing without the key, and differs between recipients, so two recipients
    cannot link their customers through it. A platform hands it to the recipient when it shares
    the data (e.g. with an order), computing it with this function.
    """
    return keyed_hash(pseudonym_key, f"{RECIPIENT_PURPOSE}:{recipient}", subject_ref)


def recipient_configs(datamap: DataMap, config: ProtocolsConfig) -> list[RecipientConfig]:
    """How each recipient of ``datamap`` is told: its map entry, overridden by the protocols file.

    A recipient that names no push endpoint anywhere and does not choose a delivery explicitly
    is told by poll (RFC 8936): its SETs wait in the outbox until it polls with its token, and
    are escalated at its deadline. An explicit ``delivery: push`` without an endpoint, or any
    other invalid setting, is a configuration error.
    """
    configured: list[RecipientConfig] = []
    for recipient in datamap.recipients:
        from_file = dict(config.recipients.get(recipient.name, {}))
        overrides: dict[str, Any] = dict(from_file)
        endpoint = overrides.get("endpoint", recipient.endpoint)
        if not endpoint:
            overrides["endpoint"] = None  # an unset ${VAR:-} leaves ""
            if "delivery" not in recipient.model_fields_set and "delivery" not in from_file:
                overrides["delivery"] = "poll"
        try:
            configured.append(RecipientConfig.from_map(recipient, overrides))
        except ValidationError as exc:
            problem = exc.errors()[0].get("msg", "invalid") if exc.errors() else "invalid"
            raise ExitRightError(
                ErrorCode.INVALID_CONFIG,
                message_id="protocols.config_invalid",
                params={"path": f"recipients.{recipient.name}"},
                details={"problem": str(problem)[:200]},
            ) from exc
    return configured


class OutboxNotifier:
    """The ``Notifier`` port: signed SETs queued in the unit of work's own transaction.

    ``sub_id`` per recipient: ``opaque`` → :func:`recipient_subject_id`; ``phone_number`` /
    ``email`` → the open request's identifier when it is of that kind. A recipient for which
    there is none is not told; the ledger says so (``recipient.notice.skipped``, reason
    ``no_identifier``) and the notice comes back ``not_sent``, for the certificate.
    """

    def __init__(
        self,
        recipients: Sequence[RecipientConfig],
        transmitter: Transmitter,
        pseudonym_key: bytes,
        clock: Clock,
    ) -> None:
        self.recipients = tuple(recipients)
        self.transmitter = transmitter
        self.pseudonym_key = pseudonym_key
        self.clock = clock

    @staticmethod
    def _conn(uow: UnitOfWork) -> Connection:
        repository = uow.requests
        if not isinstance(repository, SqlRequestRepository):
            raise TypeError("the outbox notifier runs in the SQL unit of work")
        return repository.conn

    def _subject_ids(self, request: Request, identifiers: Identifiers | None) -> dict[str, str]:
        ids = {
            r.name: recipient_subject_id(self.pseudonym_key, r.name, request.subject_ref)
            for r in self.recipients
            if r.subject_format == "opaque"
        }
        if identifiers is not None and identifiers.value.strip():
            if identifiers.kind == "email" and "@" in identifiers.value:
                ids["email"] = identifiers.value.strip()
            elif identifiers.kind == "phone":
                # Not a number E.164 can express: recipients that need one are not told.
                with contextlib.suppress(ValueError):
                    ids["phone_number"] = e164(identifiers.value)
        return ids

    def _queue(
        self,
        uow: UnitOfWork,
        event: str,
        chosen: Sequence[RecipientConfig],
        request: Request,
        identifiers: Identifiers | None,
    ) -> list[RecipientNotice]:
        ids = self._subject_ids(request, identifiers)
        ready = [r for r in chosen if r.name in ids or r.subject_format in ids]
        skipped = [r for r in chosen if r not in ready]
        jtis: list[str] = []
        if ready:
            jtis = outbox.enqueue(
                self._conn(uow),
                self.clock,
                event,
                request.id,
                request.subject_ref,
                ready,
                ids,
                transmitter=self.transmitter,
            )
        for r in skipped:
            uow.ledger.append(
                SKIPPED,
                request_id=request.id,
                subject=request.subject_ref,
                data={"recipient": r.name, "event": event, "reason": "no_identifier"},
            )
        queued = {n.jti: n for n in self.notices(uow, request.id)}
        return [queued[j] for j in jtis if j in queued] + [
            RecipientNotice(r.name, event, None, "not_sent", r.delivery, err="no_identifier")
            for r in skipped
        ]

    def account_disabled(
        self, uow: UnitOfWork, request: Request, identifiers: Identifiers | None
    ) -> list[RecipientNotice]:
        """Cooling-off started: account-disabled to the recipients that asked for it."""
        chosen = [r for r in self.recipients if r.disable_on_cooling_off]
        return self._queue(uow, "account-disabled", chosen, request, identifiers)

    def account_enabled(
        self, uow: UnitOfWork, request: Request, identifiers: Identifiers | None
    ) -> list[RecipientNotice]:
        """Revoked in cooling-off: account-enabled to the recipients told account-disabled."""
        told = {n.recipient for n in self.notices(uow, request.id) if n.event == "account-disabled"}
        chosen = [r for r in self.recipients if r.name in told]
        return self._queue(uow, "account-enabled", chosen, request, identifiers)

    def account_purged(
        self, uow: UnitOfWork, request: Request, identifiers: Identifiers | None
    ) -> list[RecipientNotice]:
        """Completed: account-purged to every recipient."""
        return self._queue(uow, "account-purged", self.recipients, request, identifiers)

    def notices(self, uow: UnitOfWork, request_id: str) -> list[RecipientNotice]:
        """Every notice of the request in the outbox, as it stands in this transaction."""
        return [
            RecipientNotice(
                recipient=n.recipient,
                event=n.event,
                jti=n.jti,
                state=n.state,
                delivery=n.delivery,
                acknowledged_at=n.resolved_at if n.state == "acknowledged" else None,
                err=n.err,
            )
            for n in outbox_notices.notices_for_request(self._conn(uow), request_id)
        ]


class SetDelivery:
    """Pushes due SETs (RFC 8935) for the worker: one bounded round per call, one HTTP client.

    The same rounds as ``exitright events deliver`` (leases, so both may run at once): escalate
    overdue notices, claim due ones, POST each outside any transaction, record each answer.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        transmitter: Transmitter,
        policy: push.RetryPolicy,
        recipients: Mapping[str, RecipientConfig],
        config: ProtocolsConfig | None = None,
        client_factory: Callable[[], httpx.Client] | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.transmitter = transmitter
        self.policy = policy
        self.recipients = dict(recipients)
        self.config = config or ProtocolsConfig()
        self._factory = client_factory or (lambda: httpx.Client(follow_redirects=False))
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = self._factory()
            return self._client

    def _config(self, recipient: str) -> RecipientConfig | None:
        # A notice may be for a recipient only the protocols file still names.
        config = self.recipients.get(recipient)
        if config is None:
            try:
                config = self.config.recipient(recipient)
            except ValueError:  # not configured for push (any more): the stored endpoint is used
                return None
        return config

    def _headers(self, recipient: str) -> dict[str, str]:
        config = self._config(recipient)
        return config.push_headers() if config is not None else {}

    def _timeout(self, recipient: str) -> float:
        config = self._config(recipient)
        return config.timeout_seconds if config is not None else 10.0

    def round(self, worker: str, *, limit: int = 20) -> push.Report:
        """Escalate the overdue, push up to ``limit`` due SETs, record the answers."""
        return push.deliver_due(
            self.engine,
            self.clock,
            self.transmitter,
            self._http(),
            worker=worker,
            policy=self.policy,
            headers_for=self._headers,
            timeout_for=self._timeout,
            limit=limit,
        )

    def close(self) -> None:
        """Close the HTTP client."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def deadline_policies(settings: Settings) -> dict[Regime, DeadlinePolicy]:
    """A deadline policy per regime; cn counts with the packaged and deployed holiday files."""
    arrangements = packaged_arrangements() + load_arrangements([settings.data_dir / "calendars"])
    return {r: deadline_policy(r.value, arrangements=arrangements) for r in Regime}


def demo_map(settings: Settings) -> DataMap:
    """The demo platform's data map, pointed at this deployment's demo database and folders."""
    path = Path(str(resources.files("exitright.demo") / "datamap.yaml"))
    env = {
        **os.environ,
        "EXITRIGHT_DEMO_DATABASE_URL": settings.demo_url,
        "EXITRIGHT_REDIS_URL": settings.redis_url or "redis://127.0.0.1:6379/0",
        "EXITRIGHT_DEMO_UPLOADS": str(settings.data_dir / "uploads"),
    }
    dm = load_map(path, env)
    if settings.redis_url is None:
        # The embedded default runs without Redis, and the demo then keeps no sessions or carts
        # there (exitright demo seed writes them only when Redis is configured): nothing to erase.
        stores = {name: s for name, s in dm.stores.items() if not isinstance(s, RedisStore)}
        dm = dm.model_copy(update={"stores": stores})
    return dm


@dataclass
class Runtime:
    """What the request use cases run on: the ports, and units of work on the engine database."""

    engine: Engine
    ports: Ports
    cipher: IdentifierCipher
    wrap: bytes
    settings: Settings
    _owned: list[Engine] = field(default_factory=list)
    delivery: SetDelivery | None = None  # None: the worker pushes no SETs (tests, or no keys)

    @property
    def clock(self) -> Clock:
        """The clock every use case reads."""
        return self.ports.clock

    def uow(self, *, readonly: bool = False) -> SqlUnitOfWork:
        """A fresh unit of work (one transaction per ``with``)."""
        return SqlUnitOfWork(self.engine, self.cipher, self.clock, self.wrap, readonly=readonly)

    def subject_exists(self, identifiers: Identifiers) -> bool:
        """Whether an account of the platform is named by ``identifiers`` (False: no map)."""
        eraser = self.ports.eraser
        return isinstance(eraser, EngineEraser) and eraser.exists(identifiers)

    @property
    def notifier(self) -> OutboxNotifier | None:
        """The third-party notifier wired into the ports (None: nobody to tell)."""
        notifier = self.ports.notifier
        return notifier if isinstance(notifier, OutboxNotifier) else None

    def close(self) -> None:
        """Close the SET delivery client and dispose of the engines this runtime created."""
        if self.delivery is not None:
            self.delivery.close()
        if isinstance(self.ports.eraser, EngineEraser):
            self.ports.eraser.ctx.close()
        for engine in self._owned:
            engine.dispose()


_runtime_lock = threading.Lock()


def protocols_runtime(state: Any) -> ProtocolsRuntime:
    """The SET runtime of a web app, with its handler ports wired (issue 5).

    ``identifier-recycled`` feeds the recycled-number guard
    (:class:`~exitright.identity.risc.RiscRecycledGuard`); ``account-purged`` from an upstream
    identity provider opens a cancellation through this app's request workflow
    (:class:`~exitright.protocols.upstream.WorkflowCancellationStarter`, built on first use).
    """
    # The identity package imports this module (its request link): imported at call time.
    from exitright.identity.risc import RiscRecycledGuard
    from exitright.identity.wiring import build_guard
    from exitright.protocols.upstream import WorkflowCancellationStarter

    settings: Settings = state.settings
    return ProtocolsRuntime.from_settings(
        settings,
        guard=RiscRecycledGuard(build_guard(settings, state.engine)),
        starter=WorkflowCancellationStarter(lambda: runtime_for(state)),
    )


def runtime_for(state: Any) -> Runtime:
    """The runtime kept on a web app's ``state`` (built on first use from ``state.settings``).

    Tests may put their own on ``state.requests_runtime`` before the app serves.
    """
    with _runtime_lock:
        existing: Runtime | None = getattr(state, "requests_runtime", None)
        if existing is None:
            existing = build(state.settings, engine=state.engine)
            state.requests_runtime = existing
            state.on_shutdown.append(existing.close)
    return existing


def build(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    datamap: DataMap | None = None,
    cooling_off: CoolingOffPolicy | None = None,
    retry: RetryPolicy | None = None,
    sql_engines: dict[str, Engine] | None = None,
    redis_clients: dict[str, redis.Redis] | None = None,  # type: ignore[type-arg]  # as erasure.context declares it
    protocols: ProtocolsConfig | None = None,
    http_client: Callable[[], httpx.Client] | None = None,
    **ports: Any,
) -> Runtime:
    """Wire the workflow for ``settings``; refuses a cooling-off that cannot meet the deadline.

    Without ``datamap``, the demo platform's map is used when the demo is enabled; a deployment
    without a map accepts no cancellation (its API answers ``kind_not_supported``). The map's
    recipients are told through the SET outbox (``protocols``: default the protocols file);
    pass ``notifier=None`` to tell nobody. ``http_client`` makes the client SETs are pushed with.
    """
    clock = clock or SystemClock()
    owned: list[Engine] = []
    if engine is None:
        engine = make_engine(settings.engine_url)
        owned.append(engine)
    policies = deadline_policies(settings)
    default_regime = Regime(settings.regime)
    cooling = cooling_off or CoolingOffPolicy(settings.cooling_off_days)
    validate_timing(policies[default_regime], cooling)
    if datamap is None and settings.datamap_path is not None:
        datamap = load_map(settings.datamap_path)
    elif datamap is None and settings.demo_enabled:
        datamap = demo_map(settings)
    eraser = None
    if datamap is not None:
        ctx = ErasureContext(
            engine=engine,
            vault=VaultService(engine, LocalKeyWrapper(load_key(settings, "vault_master")), clock),
            pseudonym_key=load_key(settings, "pseudonym"),
            clock=clock,
            lease=PLAN_LEASE,  # short: the worker's heartbeat renews it (exitright/heartbeat.py)
            sql_engines=sql_engines or {},
            redis_clients=redis_clients or {},
        )
        eraser = EngineEraser(ctx, datamap)
        if "executors" not in ports:
            # access / delete / correct: exitright.privacy.executors; exports kept encrypted.
            archives = ExportArchives(
                settings.data_dir / "exports",
                load_key(settings, "secret"),
                clock,
                timedelta(days=settings.export_expiry_days),
            )
            ports["executors"] = kind_executors(ctx, datamap, archives)
            ports.setdefault("exports", archives)
    config = protocols if protocols is not None else load_config(settings)
    transmitter = Transmitter.from_settings(settings, config)
    recipients = recipient_configs(datamap, config) if datamap is not None else []
    if "notifier" not in ports:
        notifier: Notifier | None = None
        if recipients:
            notifier = OutboxNotifier(
                recipients, transmitter, load_key(settings, "pseudonym"), clock
            )
        ports["notifier"] = notifier
    delivery = SetDelivery(
        engine,
        clock,
        transmitter,
        push.RetryPolicy.from_settings(config.retry),
        {r.name: r for r in recipients},
        config,
        http_client,
    )
    if "prechecks" not in ports:
        # Declared in settings (the demo's by default on the demo map); refused at start-up.
        prechecks, made = build_prechecks(
            settings, datamap, eraser.ctx if eraser else None, clock, sql_engines
        )
        ports["prechecks"] = prechecks
        owned += made
    ports.setdefault("precheck_interval", timedelta(minutes=settings.precheck_recheck_minutes))
    ports.setdefault("verify_within", timedelta(hours=settings.verify_within_hours))
    wired = Ports(
        clock=clock,
        eraser=eraser,
        deadlines=policies,
        default_regime=default_regime,
        cooling_off=cooling,
        retry=retry or RetryPolicy(),
        issuer=settings.public_url,
        **ports,
    )
    return Runtime(
        engine=engine,
        ports=wired,
        cipher=IdentifierCipher(load_key(settings, "secret")),
        wrap=wrapping_key(load_key(settings, "secret")),
        settings=settings,
        _owned=owned,
        delivery=delivery,
    )
