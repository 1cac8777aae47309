"""The data map: a declarative description of where a platform keeps a subject's data.

Pure Pydantic models (no I/O): ``loader.py`` reads YAML into them, ``validate.py`` checks what a
schema cannot express, ``erasure/planner.py`` turns them into steps. ``docs/datamap.md`` explains
every field with examples; ``exitright datamap schema`` prints the JSON Schema.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

IdentifierKind = Literal["user_id", "phone", "email", "id_number"]
IDENTIFIER_KINDS: Final[tuple[IdentifierKind, ...]] = ("user_id", "phone", "email", "id_number")

PICategory = Literal[
    "identity.name",
    "identity.id_number",
    "identity.account",
    "identity.photo",
    "contact.phone",
    "contact.email",
    "location.address",
    "location.ip",
    "location.geo",
    "device.id",
    "financial.bank_card",
    "financial.account",
    "transaction",
    "behaviour",
    "communication",
    "credentials",
    "free_text",
    "profile",
]

Action = Literal["delete", "anonymize", "retain", "keep"]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Subject(_Model):
    """Which table holds the account and which of its columns identify it."""

    store: str = Field(description="the SQL store holding the account table")
    table: str = Field(description="the account table, e.g. users")
    key: str = Field("id", description="the account table's primary-key column (the user id)")
    identifiers: dict[IdentifierKind, str] = Field(
        default_factory=dict,
        description="identifier kind → column of the account table (phone, email, id_number)",
    )
    find_by: list[IdentifierKind] | None = Field(
        None,
        description="identifiers a user or operator may give to find the account; "
        "omitted = user_id plus phone and email where declared",
    )

    def lookups(self) -> list[IdentifierKind]:
        """The identifiers an account may be found by."""
        if self.find_by is not None:
            return self.find_by
        found: list[IdentifierKind] = ["user_id"]
        found += [k for k in self.identifiers if k in ("phone", "email")]
        return found


class Fixed(_Model):
    """Replace the value with a constant."""

    fixed: str | int | float | bool | None


class Truncate(_Model):
    """Keep only the first ``truncate`` characters."""

    truncate: int = Field(ge=0)


SimpleMethod = Literal["null", "hash", "month", "redact"]
Method = SimpleMethod | Fixed | Truncate


Detach = bool | dict[str, Method | None]


class ColumnLink(_Model):
    """Rows whose ``column`` holds the key of a linked row of ``parent`` (or the user id)."""

    column: str = Field(description="the column of this table holding the reference")
    parent: str | None = Field(
        None, description="the referenced table in the same store; omitted = the user id itself"
    )
    parent_column: str | None = Field(
        None, description="the referenced column of parent; omitted = parent's key"
    )
    detach: Detach = Field(
        False,
        description="the rows belong to someone else (e.g. an invitation the subject accepted): "
        "true = set this column to NULL; a mapping = apply these anonymize methods instead",
    )


class IdentifierLink(_Model):
    """Rows whose ``column`` holds one of the subject's identifier values (e.g. a phone)."""

    identifier: IdentifierKind
    column: str
    detach: Detach = Field(False, description="as for a column link")


class ThroughLink(_Model):
    """Rows reached through an association (many-to-many) table that is itself linked."""

    through: str = Field(description="the association table (mapped and linked)")
    through_column: str = Field(description="the association table's column referencing this table")
    column: str | None = Field(
        None, description="the referenced column of this table; omitted = key"
    )


Link = ColumnLink | IdentifierLink | ThroughLink


def detach_methods(link: ColumnLink | IdentifierLink) -> dict[str, Method]:
    """The changes a detach link makes to the rows it matches (empty when not a detach link)."""
    if link.detach is True:
        return {link.column: "null"}
    if isinstance(link.detach, dict):
        return {c: ("null" if m is None else m) for c, m in link.detach.items()}
    return {}


def is_detach(link: Link) -> bool:
    """Whether ``link`` only cuts other people's rows loose from the subject."""
    return not isinstance(link, ThroughLink) and bool(link.detach)


class Retain(_Model):
    """Keep the rows for a legal period, in the vault."""

    basis: str = Field(description="a legal basis id, e.g. cn-ecl-31 (see docs/datamap.md)")
    start: str | None = Field(
        None, alias="from", description="the column the period counts from, e.g. completed_at"
    )
    then: Literal["delete", "blank"] = Field(
        "delete",
        description="delete: move whole rows to the vault; blank: copy the anonymized columns "
        "to the vault and blank them in place",
    )


class Items(_Model):
    """Rows the subject may delete without closing the account (the "Delete items" page).

    A request names ``<store>.<table>`` for all of the subject's rows of the table, or
    ``<store>.<table>:<key>`` for one of them (``one_by_one``). The rows go with the tables that
    hang off them (their children in the map) through the erasure engine, as a cancellation's
    would; no other row is touched.
    """

    label: dict[Literal["zh-CN", "en"], str] = Field(
        description="what the pages call these rows, in Chinese and English (e.g. 收货地址)"
    )
    one_by_one: bool = Field(
        False, description="single rows may be chosen by key, not only all of them at once"
    )


class Table(_Model):
    """One table: how its rows link to the subject, and what happens to them."""

    key: str | None = Field("id", description="single-column primary key used for batching")
    link: list[Link] = Field(
        default_factory=list, description="how rows link to the subject (any of them)"
    )
    action: Action | None = Field(None, description="delete, anonymize, retain or keep")
    anonymize: dict[str, Method | None] = Field(
        default_factory=dict,
        description="column → method (null, hash, month, redact, fixed, truncate)",
    )
    retain: Retain | None = None
    reason: str | None = Field(None, description="why keep is right (no personal data)")
    pi: dict[str, PICategory] = Field(
        default_factory=dict, description="column → personal-data category"
    )
    items: Items | None = Field(
        None, description="the subject may delete these rows on their own (request kind delete)"
    )
    correctable: list[str] = Field(
        default_factory=list,
        description="columns the subject may correct (request kind correct); each needs a pi "
        "category, which decides how a new value is checked",
    )

    @field_validator("link", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v

    @field_validator("anonymize", mode="after")
    @classmethod
    def _null_method(cls, v: dict[str, Method | None]) -> dict[str, Method | None]:
        return {k: ("null" if m is None else m) for k, m in v.items()}

    def method(self, column: str) -> Method:
        """The anonymize method of ``column`` (YAML ``null`` reads as the null method)."""
        m = self.anonymize[column]
        return "null" if m is None else m


class SqlStore(_Model):
    """A SQL database (SQLite, PostgreSQL, MySQL/MariaDB) reached through a SQLAlchemy URL."""

    kind: Literal["sql"]
    url: str = Field(description="SQLAlchemy URL; ${ENV} and ${ENV:-default} are expanded")
    maintenance: bool = Field(
        True,
        description="after erasure: checkpoint SQLite's WAL; on PostgreSQL / MariaDB schedule "
        "the changed tables for `exitright datamap vacuum`",
    )
    tables: dict[str, Table]


class RedisKey(_Model):
    """Keys of the subject, by pattern with identifier placeholders (``session:{user_id}:*``)."""

    pattern: str
    fields: list[str] = Field(
        default_factory=list,
        description="remove only these hash fields / set members (placeholders allowed)",
    )
    pi: PICategory | None = None


class RedisStore(_Model):
    """A Redis database."""

    kind: Literal["redis"]
    url: str
    keys: list[RedisKey]


class FilePath(_Model):
    """Files of the subject under the store's root (``idcards/{user_id}/*``)."""

    pattern: str
    pi: PICategory | None = None


class FilesStore(_Model):
    """A directory tree of uploaded files."""

    kind: Literal["files"]
    root: str
    paths: list[FilePath]


Store = Annotated[SqlStore | RedisStore | FilesStore, Field(discriminator="kind")]


class Recipient(_Model):
    """A third party holding copies of the subject's data, to be told to delete them."""

    name: str
    kind: Literal["merchant", "courier", "payment", "logistics", "advertising", "other"]
    holds: list[PICategory] = Field(default_factory=list)
    endpoint: str | None = Field(
        None, description="the push endpoint (RFC 8935) its Security Event Tokens are POSTed to"
    )
    # How it is told (docs/protocols.md); the protocols file may override each of these.
    delivery: Literal["push", "poll"] = Field(
        "push", description="push (RFC 8935) to the endpoint, or poll (RFC 8936) by the recipient"
    )
    audience: str | None = Field(
        None, description="the SETs' aud; default: the endpoint (push) or the name (poll)"
    )
    subject_format: Literal["opaque", "phone_number", "email"] = Field(
        "opaque",
        description="opaque: an id derived for this recipient (no personal data in the SET); "
        "phone_number / email: for a recipient that knows the subject by nothing else",
    )
    ack_deadline_hours: int = Field(
        72, ge=1, le=2160, description="escalate a notice still unacknowledged after this"
    )
    disable_on_cooling_off: bool = Field(
        False, description="also send account-disabled when a cancellation's cooling-off starts"
    )
    push_token_env: str | None = Field(
        None, description="an environment variable holding a bearer token for the endpoint"
    )


class Residual(_Model):
    """How the residual check searches after an erasure."""

    mode: Literal["full", "indexed"] = Field(
        "full",
        description="full: scan every text column per request (small stores); indexed: only "
        "link and identifier columns per request, the rest by the periodic sweep",
    )


class DataMap(_Model):
    """A platform's data map."""

    version: Literal[1] = 1
    platform: str
    subject: Subject
    stores: dict[str, Store]
    recipients: list[Recipient] = Field(default_factory=list)
    residual: Residual = Field(default_factory=Residual)

    def sql_stores(self) -> dict[str, SqlStore]:
        """The SQL stores by name."""
        return {n: s for n, s in self.stores.items() if isinstance(s, SqlStore)}


def expand_env(value: Any, env: Mapping[str, str], path: str = "") -> Any:
    """Replace ``${NAME}`` and ``${NAME:-default}`` in every string of a parsed YAML document.

    Raises ``KeyError`` with the place (``stores.platform.url: EXAMPLE``) when a variable is
    unset and has no default.
    """
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise KeyError(f"{path or '(root)'}: {name}")

        return _ENV.sub(sub, value)
    if isinstance(value, dict):
        return {k: expand_env(v, env, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, env, f"{path}[{i}]") for i, v in enumerate(value)]
    return value
