"""Wiring the pre-checks for :func:`exitright.bootstrap.build`: declarations → probes → runner.

The declarations come from settings (``pre_checks``, already refused at load when unlawful); a
deployment that configures none and runs the demo map gets the demo platform's
(:data:`exitright.demo.prechecks.DEMO_PRE_CHECKS`). Every declaration needs a way to run: a
count query on a SQL store of the data map (``sql``); one without is refused here, at start-up,
with one line. The demo's ``wallet_balance`` also gets the platform's own resolver, the refund
to the original payment method (:class:`exitright.demo.prechecks.WalletRefund`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from exitright.cancellation.errors import PreCheckConfigError
from exitright.cancellation.ports import Identifiers
from exitright.cancellation.precheck_run import DeclaredPreChecks, PreCheckProbe, PreCheckResolver
from exitright.cancellation.prechecks import parse_pre_checks
from exitright.clock import Clock
from exitright.config import Settings
from exitright.connectors.base import SubjectIds
from exitright.connectors.sql_engine import store_engine
from exitright.connectors.sql_precheck import SqlCountProbe, check_sql_stores
from exitright.datamap.model import DataMap, SqlStore
from exitright.erasure import service as erasure
from exitright.erasure.context import ErasureContext
from exitright.errors import ErrorCode, ExitRightError

__all__ = ["DEMO_PLATFORM", "build_prechecks"]

DEMO_PLATFORM = "demo-shop"  # the demo map's ``platform``


def _declarations(settings: Settings, datamap: DataMap | None) -> list[dict[str, Any]]:
    if settings.pre_checks is not None:
        return list(settings.pre_checks)
    if datamap is not None and settings.demo_enabled and datamap.platform == DEMO_PLATFORM:
        from exitright.demo.prechecks import DEMO_PRE_CHECKS

        return [dict(d) for d in DEMO_PRE_CHECKS]
    return []


def build_prechecks(
    settings: Settings,
    datamap: DataMap | None,
    ctx: ErasureContext | None,
    clock: Clock,
    sql_engines: Mapping[str, Engine] | None = None,
) -> tuple[DeclaredPreChecks | None, list[Engine]]:
    """The runner of the declared pre-checks (None: none declared), and the engines it made
    for the stores it counts on (the caller disposes of them).

    Raises ExitRightError ``invalid_config`` (one line) for a declaration that cannot run.
    """
    raw = _declarations(settings, datamap)
    if not raw:
        return None, []
    try:
        checks = parse_pre_checks(raw)
        check_sql_stores(checks, datamap)
    except PreCheckConfigError as exc:
        raise ExitRightError(
            ErrorCode.INVALID_CONFIG,
            message_id="prechecks.error.config",
            params={"problem": exc.detail},
        ) from None
    unrunnable = [c.id for c in checks if c.sql is None]
    if unrunnable or datamap is None or ctx is None:
        raise ExitRightError(
            ErrorCode.INVALID_CONFIG,
            message_id="prechecks.error.config",
            params={
                "problem": f"pre-check {(unrunnable or [checks[0].id])[0]!r} cannot run: declare "
                "sql = {store, query} on a SQL store of the data map"
            },
        )
    dm = datamap

    def find_subject(identifiers: Identifiers) -> SubjectIds:
        lookup = erasure.Lookup(identifiers.kind, identifiers.value)
        return erasure.resolve(ctx, dm, lookup)[0]

    engines = dict(sql_engines or {})
    made: list[Engine] = []
    for store in sorted({c.sql.store for c in checks if c.sql is not None} - set(engines)):
        url = dm.stores[store]
        assert isinstance(url, SqlStore)  # check_sql_stores refused anything else
        engines[store] = store_engine(url.url)
        made.append(engines[store])
    probe = SqlCountProbe(dm, find_subject, engines)
    probes: dict[str, PreCheckProbe] = {c.id: probe for c in checks}
    resolvers: dict[str, PreCheckResolver] = {}
    if dm.platform == DEMO_PLATFORM and "wallet_balance" in probes:
        from exitright.demo.prechecks import WalletRefund

        resolvers["wallet_balance"] = WalletRefund(
            lambda: probe.engine("platform"), find_subject, clock
        )
    return DeclaredPreChecks(checks, probes, resolvers), made
