"""The soak's independent checks on the demo platform, in hand-written SQL (not the engine's).

Before the run, :func:`touched_keys` lists, per table, the rows that belong to or mention one
of the subjects (their own rows, their orders' children, invitations they sent or received,
notes and texts to their phone numbers): the rows erasure may change. Every other row of every
table belongs to someone else and must come out of the run byte for byte the same:
:func:`others_checksums` hashes them before and after. A table the oracle does not know (a new
demo table with user data) counts as "nobody's": changing any of its rows fails the soak until
the oracle learns the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

# Subject's orders / payments / reviews / conversations / devices, as of before the run.
_ORDERS = "(SELECT id FROM orders WHERE user_id = ANY(%(ids)s))"
_PAYMENTS = f"(SELECT id FROM payments WHERE order_id IN {_ORDERS})"
_REVIEWS = f"(SELECT id FROM reviews WHERE user_id = ANY(%(ids)s) OR order_id IN {_ORDERS})"
_CONVERSATIONS = (
    f"(SELECT id FROM cs_conversations WHERE user_id = ANY(%(ids)s) OR order_id IN {_ORDERS})"
)
_DEVICES = "(SELECT id FROM devices WHERE user_id = ANY(%(ids)s))"

# Per table: the condition for "this row belongs to or mentions a subject".
TOUCHED: dict[str, str] = {
    "users": "id = ANY(%(ids)s)",
    "identity_verifications": "user_id = ANY(%(ids)s)",
    "addresses": "user_id = ANY(%(ids)s)",
    "devices": "user_id = ANY(%(ids)s)",
    "login_history": f"user_id = ANY(%(ids)s) OR device_id IN {_DEVICES}",
    "orders": "user_id = ANY(%(ids)s)",
    "order_items": f"order_id IN {_ORDERS}",
    "payments": f"order_id IN {_ORDERS}",
    "refunds": f"payment_id IN {_PAYMENTS}",
    "deliveries": f"order_id IN {_ORDERS}",
    "invoices": f"user_id = ANY(%(ids)s) OR order_id IN {_ORDERS}",
    "reviews": f"user_id = ANY(%(ids)s) OR order_id IN {_ORDERS}",
    "review_photos": f"review_id IN {_REVIEWS}",
    "favourites": "user_id = ANY(%(ids)s)",
    "search_history": "user_id = ANY(%(ids)s)",
    "user_coupons": f"user_id = ANY(%(ids)s) OR used_order_id IN {_ORDERS}",
    "wallets": "user_id = ANY(%(ids)s)",
    "wallet_ledger": f"user_id = ANY(%(ids)s) OR order_id IN {_ORDERS}",
    "cs_conversations": f"user_id = ANY(%(ids)s) OR order_id IN {_ORDERS}",
    "cs_messages": f"conversation_id IN {_CONVERSATIONS}",
    "merchant_customer_notes": "customer_phone = ANY(%(phones)s)",
    "invitations": "inviter_id = ANY(%(ids)s) OR invitee_id = ANY(%(ids)s)"
    " OR invitee_phone = ANY(%(phones)s)",
    "sms_outbox": "phone = ANY(%(phones)s)",
}


def _tables(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """Every table of the public schema → an SQL expression of its primary key as text."""
    rows = conn.execute(
        "SELECT c.relname, string_agg(a.attname, ',' ORDER BY array_position(i.indkey, a.attnum))"
        " FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)"
        " WHERE i.indisprimary GROUP BY c.relname"
    ).fetchall()
    out = {}
    for table, cols in rows:
        parts = [f'"{c}"::text' for c in str(cols).split(",")]
        out[str(table)] = " || ':' || ".join(parts)
    return out


def touched_keys(url: str, ids: Sequence[int], phones: Sequence[str]) -> dict[str, list[str]]:
    """Per table, the primary keys (as text) of the rows that belong to or mention a subject."""
    params = {"ids": list(ids), "phones": list(phones)}
    with psycopg.connect(url) as conn:
        tables = _tables(conn)
        return {
            table: [
                str(r[0])
                for r in conn.execute(
                    f'SELECT {key} FROM "{table}" WHERE {TOUCHED[table]}', params
                ).fetchall()
            ]
            for table, key in tables.items()
            if table in TOUCHED
        }


def others_checksums(url: str, touched: dict[str, list[str]]) -> dict[str, tuple[int, str]]:
    """Per table: how many rows are nobody's business of the soak, and an MD5 over them."""
    out: dict[str, tuple[int, str]] = {}
    with psycopg.connect(url) as conn:
        for table, key in sorted(_tables(conn).items()):
            row = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY {key}), ''))"
                f' FROM "{table}" t WHERE NOT ({key} = ANY(%(skip)s))',
                {"skip": touched.get(table, [])},
            ).fetchone()
            assert row is not None
            out[table] = (int(row[0]), str(row[1]))
    return out


def leftovers(url: str, ids: Sequence[int], phones: Sequence[str]) -> dict[str, int]:
    """Rows the subjects still own directly after the run (all must be 0)."""
    params = {"ids": list(ids), "phones": list(phones)}
    owned = {
        "users": "id = ANY(%(ids)s) OR phone = ANY(%(phones)s)",
        "addresses": "user_id = ANY(%(ids)s)",
        "devices": "user_id = ANY(%(ids)s)",
        "orders": "user_id = ANY(%(ids)s)",
        "search_history": "user_id = ANY(%(ids)s)",
        "wallets": "user_id = ANY(%(ids)s)",
        "sms_outbox": "phone = ANY(%(phones)s)",
    }
    with psycopg.connect(url) as conn:
        out = {}
        for table, cond in owned.items():
            row = conn.execute(f'SELECT count(*) FROM "{table}" WHERE {cond}', params).fetchone()
            out[table] = int(row[0]) if row else -1
        return out
