"""Pre-check declarations: conditions checked before a cancellation may proceed.

A pre-check (open orders, a wallet balance, a dispute) blocks a request until it is resolved, and
must say why and how to resolve it, in zh-CN and en (RUBRIC CN-PIPL-50-reasons). Deployments
declare them in settings; :func:`parse_pre_checks` turns those declarations into
:class:`PreCheck` values and refuses any that imposes a condition the law forbids: a payment or
transfer (CN-UX-no-payment), a document, biometrics, a minimum account age or activity, a profile
to complete, or a phone call, letter or visit (CN-ECL-24-conditions). The resolution kinds form a
closed list — a kind this module does not know is refused rather than trusted.

A declaration may carry ``sql = {store, query}``: a parameterised ``SELECT count(…)`` over one of
the data map's SQL stores that is non-zero while the check blocks. :func:`parse_sql_count`
checks its shape here (one read-only count, no comments or second statement, bind parameters
only from the subject's identifiers); running it is an adapter's job
(:mod:`exitright.connectors.sql_precheck`), as is every other way of asking the platform.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from exitright.cancellation.errors import PreCheckConfigError

__all__ = [
    "DEFAULT_PRE_CHECKS",
    "FORBIDDEN_DEMANDS",
    "SQL_PARAMETERS",
    "PreCheck",
    "ResolutionKind",
    "SqlCount",
    "parse_pre_checks",
    "parse_sql_count",
    "validate_pre_checks",
]


class ResolutionKind(StrEnum):
    """How a user resolves a blocking pre-check; every kind here is lawful."""

    LINK = "link"  # a page in the product where the user resolves it (their open orders)
    REFUND_TO_ORIGINAL_METHOD = (
        "refund_to_original_method"  # the platform pays out; user does nothing
    )
    WAIT = "wait"  # resolves by itself at a stated time (a delivery, a dispute's closing)
    SELF_SERVICE_UNLOCK = "self_service_unlock"  # a security lock the user lifts in the product


# Demands that make a pre-check unlawful, with the rubric rule each one breaks. A declaration is
# refused if its resolution kind or any entry of its ``requires`` list names one of them.
FORBIDDEN_DEMANDS: Final[Mapping[str, str]] = {
    "payment": "CN-UX-no-payment",
    "fee": "CN-UX-no-payment",
    "transfer": "CN-UX-no-payment",
    "loan": "CN-UX-no-payment",
    "payment_code": "CN-UX-no-payment",
    "document": "CN-ECL-24-conditions",
    "id_photo": "CN-ECL-24-conditions",
    "biometric": "CN-ECL-24-conditions",
    "face_scan": "CN-ECL-24-conditions",
    "minimum_account_age": "CN-ECL-24-conditions",
    "minimum_activity": "CN-ECL-24-conditions",
    "complete_profile": "CN-ECL-24-conditions",
    "phone_call": "CN-ECL-24-conditions",
    "letter": "CN-ECL-24-conditions",
    "email_only": "CN-ECL-24-conditions",
    "in_person": "CN-ECL-24-conditions",
    "desktop_only": "CN-ECL-24-conditions",
}

_ID: Final = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
_KEYS: Final = frozenset(
    {"id", "resolution", "link", "requires", "explanation_key", "resolution_key", "sql"}
)
# The subject's identifiers a count query may bind (``:user_id``), and nothing else.
SQL_PARAMETERS: Final = frozenset({"user_id", "phone", "email"})
_SQL_MAX: Final = 2000
_SQL_SHAPE: Final = re.compile(
    r"^select\s+count\s*\(\s*(\*|1|[a-z_][a-z0-9_.]*)\s*\)\s+from\s", re.I
)
# Outside quoted literals: a statement that writes, or anything that could start another one.
_SQL_FORBIDDEN: Final = re.compile(
    r"(;|--|/\*|\*/|\b(insert|update|delete|merge|drop|alter|create|truncate|grant|revoke|"
    r"attach|detach|pragma|into|call|exec|execute|copy|lock|set|vacuum|load_file|outfile|"
    r"sleep|pg_sleep|benchmark)\b)",
    re.I,
)
_SQL_LITERAL: Final = re.compile(r"'(?:[^']|'')*'")
_SQL_PARAM: Final = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class SqlCount:
    """A count query over one SQL store of the data map; the check blocks while it is above 0."""

    store: str
    query: str
    parameters: tuple[str, ...]  # the identifiers it binds, e.g. ("user_id",)


@dataclass(frozen=True)
class PreCheck:
    """A declared pre-check: what blocks, how to explain it, and how to resolve it."""

    id: str
    resolution: ResolutionKind
    link: str | None = None
    requires: tuple[str, ...] = ()
    sql: SqlCount | None = None

    @property
    def explanation_key(self) -> str:
        """Catalog key of the user-facing explanation (why the request is blocked)."""
        return f"requests.precheck.{self.id}.explanation"

    @property
    def resolution_key(self) -> str:
        """Catalog key of the user-facing resolution (what to do, or what the platform does)."""
        return f"requests.precheck.{self.id}.resolution"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "id": self.id,
            "resolution": self.resolution.value,
            "link": self.link,
            "requires": list(self.requires),
            **({"sql": {"store": self.sql.store, "query": self.sql.query}} if self.sql else {}),
        }


DEFAULT_PRE_CHECKS: Final = (
    PreCheck("open_orders", ResolutionKind.LINK, link="/account/orders?status=open"),
    PreCheck("wallet_balance", ResolutionKind.REFUND_TO_ORIGINAL_METHOD),
    PreCheck("open_disputes", ResolutionKind.WAIT),
    PreCheck("security_lock", ResolutionKind.SELF_SERVICE_UNLOCK, link="/account/security"),
)


def _refuse(check_id: str, problem: str, **params: Any) -> PreCheckConfigError:
    return PreCheckConfigError(f"pre-check {check_id!r}: {problem}", pre_check=check_id, **params)


def _forbidden(check_id: str, demand: str) -> PreCheckConfigError:
    rule = FORBIDDEN_DEMANDS[demand]
    return _refuse(
        check_id,
        f"demands {demand!r}, which cancellation may never require ({rule})",
        demand=demand,
        rule=rule,
    )


def _parse_one(raw: Mapping[str, Any], index: int) -> PreCheck:
    check_id = raw.get("id")
    if not isinstance(check_id, str) or not _ID.match(check_id):
        raise _refuse(f"#{index + 1}", "needs an id of lowercase letters, digits and underscores")
    unknown = set(raw) - _KEYS
    if unknown:
        raise _refuse(check_id, f"unknown keys {sorted(unknown)}")
    for key in ("explanation_key", "resolution_key"):
        # Keys are derived from the id so that a declaration cannot point at another check's text.
        if key in raw and raw[key] != f"requests.precheck.{check_id}.{key.removesuffix('_key')}":
            raise _refuse(check_id, f"{key} must be requests.precheck.{check_id}.*")
    requires_raw = raw.get("requires", [])
    if isinstance(requires_raw, str) or not isinstance(requires_raw, Iterable):
        raise _refuse(check_id, "requires must be a list")
    requires = tuple(_normalise(str(r)) for r in requires_raw)
    kind_raw = _normalise(str(raw.get("resolution", "")))
    # Forbidden demands are checked first, so the message names the real problem even when the
    # kind is also unknown (a "payment" kind is a forbidden demand, not a typo).
    for demand in (kind_raw, *requires):
        if demand in FORBIDDEN_DEMANDS:
            raise _forbidden(check_id, demand)
    try:
        kind = ResolutionKind(kind_raw)
    except ValueError:
        allowed = ", ".join(k.value for k in ResolutionKind)
        raise _refuse(
            check_id, f"unknown resolution {kind_raw!r}; use one of {allowed}", resolution=kind_raw
        ) from None
    link = raw.get("link")
    if link is not None and (not isinstance(link, str) or not link.startswith(("/", "https://"))):
        raise _refuse(check_id, "link must be a path in the product or an https URL")
    if kind in (ResolutionKind.LINK, ResolutionKind.SELF_SERVICE_UNLOCK) and not link:
        raise _refuse(check_id, f"resolution {kind.value!r} needs a link to where the user acts")
    sql = raw.get("sql")
    if sql is not None and not isinstance(sql, Mapping):
        raise _refuse(check_id, "sql must be a table with store and query")
    count = parse_sql_count(check_id, sql) if sql is not None else None
    return PreCheck(id=check_id, resolution=kind, link=link, requires=requires, sql=count)


def parse_sql_count(check_id: str, raw: Mapping[str, Any]) -> SqlCount:
    """Check the shape of a declared count query; refuse anything but one read-only count.

    The query is never formatted with values: the subject's identifiers are bound as
    parameters (``:user_id``, ``:phone``, ``:email``) when the adapter runs it.
    """
    unknown = set(raw) - {"store", "query"}
    if unknown:
        raise _refuse(check_id, f"sql has unknown keys {sorted(unknown)}")
    store, query = raw.get("store"), raw.get("query")
    if not isinstance(store, str) or not _ID.match(store.replace("-", "_")):
        raise _refuse(check_id, "sql needs the name of a store of the data map")
    if not isinstance(query, str) or not query.strip() or len(query) > _SQL_MAX:
        raise _refuse(check_id, f"sql needs a query of at most {_SQL_MAX} characters")
    query = query.strip()
    if not _SQL_SHAPE.match(query):
        raise _refuse(check_id, "sql query must be one SELECT count(...) FROM ...")
    if query.count("'") % 2:
        raise _refuse(check_id, "sql query has an unterminated quoted literal")
    bare = _SQL_LITERAL.sub("''", query)
    bad = _SQL_FORBIDDEN.search(bare)
    if bad:
        raise _refuse(
            check_id, f"sql query may not contain {bad.group(0)!r}: one read-only count only"
        )
    names = tuple(dict.fromkeys(_SQL_PARAM.findall(bare)))
    others = [n for n in names if n not in SQL_PARAMETERS]
    if others or not names:
        allowed = ", ".join(f":{p}" for p in sorted(SQL_PARAMETERS))
        raise _refuse(check_id, f"sql query must bind the subject only through {allowed}")
    return SqlCount(store=store, query=query, parameters=names)


def _normalise(value: str) -> str:
    return value.strip().lower().replace("-", "_").replace(" ", "_")


def parse_pre_checks(
    raw: Iterable[Mapping[str, Any]], *, catalog_keys: Collection[str] | None = None
) -> tuple[PreCheck, ...]:
    """Turn declarations from settings into pre-checks, refusing unlawful or malformed ones.

    With ``catalog_keys`` (every key of one language's catalog; call once per language), each
    pre-check must also have its explanation and resolution texts.
    """
    checks = tuple(_parse_one(item, i) for i, item in enumerate(raw))
    validate_pre_checks(checks, catalog_keys=catalog_keys)
    return checks


def validate_pre_checks(
    checks: Iterable[PreCheck], *, catalog_keys: Collection[str] | None = None
) -> None:
    """Refuse duplicate ids, forbidden demands and (with ``catalog_keys``) missing texts."""
    seen: set[str] = set()
    for check in checks:
        if check.id in seen:
            raise _refuse(check.id, "is declared twice")
        seen.add(check.id)
        for demand in check.requires:
            if demand in FORBIDDEN_DEMANDS:
                raise _forbidden(check.id, demand)
        if catalog_keys is not None:
            for key in (check.explanation_key, check.resolution_key):
                if key not in catalog_keys:
                    raise _refuse(check.id, f"has no text {key!r} in the catalog", key=key)
