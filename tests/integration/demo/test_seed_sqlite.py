"""Seeding the demo platform on SQLite: rows, links, files, indexes, demo phones, reseeding."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text

from exitright.db.engine import make_engine
from exitright.demo.model import Batch
from exitright.demo.producer import generated_batches
from exitright.demo.schema import TABLE_NAMES, metadata
from exitright.demo.seed import create_schema, demo_phones, drop_platform, is_seeded, seed_platform
from exitright.demo.uploads import placeholder_jpeg, resolve
from exitright.errors import ErrorCode, ExitRightError
from tests.integration.demo.conftest import SEEDED_USERS, Seeded


def count(seeded: Seeded, table: str) -> int:
    """Rows in ``table`` of the seeded platform."""
    with seeded.engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(metadata.tables[table])).scalar_one()
        )


def test_the_platform_has_at_least_fifteen_tables_all_populated(seeded: Seeded) -> None:
    """Every table of the schema exists and holds rows after a 300-user seed."""
    assert len(TABLE_NAMES) >= 15
    assert set(inspect(seeded.engine).get_table_names()) >= set(TABLE_NAMES)
    assert all(count(seeded, name) > 0 for name in TABLE_NAMES)


def test_the_summary_counts_what_is_in_the_database(seeded: Seeded) -> None:
    """Rows per table in the summary equal the rows in the tables."""
    assert list(seeded.summary.rows) == list(TABLE_NAMES)
    assert {name: count(seeded, name) for name in TABLE_NAMES} == dict(seeded.summary.rows)
    assert seeded.summary.rows["users"] == SEEDED_USERS


def test_foreign_keys_hold_across_the_whole_platform(seeded: Seeded) -> None:
    """SQLite's own check finds no dangling reference."""
    with seeded.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []


def test_every_column_that_finds_a_subject_is_indexed(seeded: Seeded) -> None:
    """user_id, phone, e-mail, order and other link columns lead an index."""
    inspector = inspect(seeded.engine)
    lookups = ("user_id", "order_id", "payment_id", "review_id", "conversation_id", "inviter_id",
               "invitee_id", "phone", "email", "receiver_phone", "customer_phone", "invitee_phone",
               "id_number")  # fmt: skip
    for table in metadata.sorted_tables:
        leading = {ix["column_names"][0] for ix in inspector.get_indexes(table.name)}
        leading |= {u["column_names"][0] for u in inspector.get_unique_constraints(table.name)}
        leading |= {inspector.get_pk_constraint(table.name)["constrained_columns"][0]}
        for name in lookups:
            if name in table.columns:
                assert name in leading, f"{table.name}.{name} has no index"


def test_the_self_referencing_invitations_link_two_existing_users(seeded: Seeded) -> None:
    """Accepted invitations join users to users on both ends."""
    query = text(
        "SELECT COUNT(*) FROM invitations i JOIN users a ON a.id = i.inviter_id "
        "JOIN users b ON b.id = i.invitee_id WHERE b.phone = i.invitee_phone"
    )
    with seeded.engine.connect() as conn:
        assert conn.execute(query).scalar_one() > 0


def test_favourites_form_a_many_to_many_between_users_and_products(seeded: Seeded) -> None:
    """Several users favour the same product and users favour several products."""
    query = text(
        "SELECT (SELECT COUNT(*) FROM (SELECT user_id FROM favourites GROUP BY user_id "
        "HAVING COUNT(*) > 1) u), (SELECT COUNT(*) FROM (SELECT product_id FROM favourites "
        "GROUP BY product_id HAVING COUNT(*) > 1) p)"
    )
    with seeded.engine.connect() as conn:
        many_products, many_users = conn.execute(query).one()
    assert many_products > 0 and many_users > 0


def test_merchant_notes_link_to_users_only_by_phone_value(seeded: Seeded) -> None:
    """Every note's phone is a user's phone, found through the index on customer_phone."""
    query = text(
        "SELECT COUNT(*) FROM merchant_customer_notes n "
        "LEFT JOIN users u ON u.phone = n.customer_phone WHERE u.id IS NULL"
    )
    with seeded.engine.connect() as conn:
        assert conn.execute(query).scalar_one() == 0


def test_every_stored_file_path_exists_on_disk_as_a_jpeg(seeded: Seeded) -> None:
    """Avatars, ID photos and review photos are on disk where the rows say."""
    query = text(
        "SELECT avatar_path FROM users WHERE avatar_path IS NOT NULL UNION ALL "
        "SELECT front_path FROM identity_verifications UNION ALL "
        "SELECT back_path FROM identity_verifications UNION ALL SELECT path FROM review_photos"
    )
    with seeded.engine.connect() as conn:
        paths = [row[0] for row in conn.execute(query)]
    assert len(paths) == seeded.summary.files > 0
    for stored in paths:
        assert resolve(seeded.uploads, stored).read_bytes()[:2] == placeholder_jpeg(0)[:2]
    assert (seeded.uploads / "idcards").is_dir()


def test_completed_orders_record_when_the_transaction_completed(seeded: Seeded) -> None:
    """completed_at is set exactly for completed orders, and some are older than three years."""
    query = text(
        "SELECT SUM(status = 'completed' AND completed_at IS NULL), "
        "SUM(status != 'completed' AND completed_at IS NOT NULL), "
        "SUM(completed_at < '2023-11-01'), SUM(completed_at >= '2023-11-01') FROM orders"
    )
    with seeded.engine.connect() as conn:
        missing, extra, expired, retained = conn.execute(query).one()
    assert (missing, extra) == (0, 0)
    assert expired > 0 and retained > 0


def test_demo_phones_are_three_distinct_users_worth_showing(seeded: Seeded) -> None:
    """The busiest buyer, a verified user and a user with money in the wallet."""
    phones = demo_phones(seeded.engine)
    assert len(phones) == len(set(phones)) == 3
    with seeded.engine.connect() as conn:

        def user(phone: str) -> tuple[int, bool, int]:
            return conn.execute(
                text("SELECT (SELECT COUNT(*) FROM orders o WHERE o.user_id = u.id), "
                     "u.real_name_verified, w.balance_cents FROM users u "
                     "JOIN wallets w ON w.user_id = u.id WHERE u.phone = :p"),
                {"p": phone},
            ).one()  # fmt: skip

        most = conn.execute(
            text("SELECT MAX(c) FROM (SELECT COUNT(*) c FROM orders GROUP BY user_id) t")
        )
        assert user(phones[0])[0] == most.scalar_one()
        assert user(phones[1])[1]
        assert user(phones[2])[2] > 0
    assert len(demo_phones(seeded.engine, n=5)) == 5


def test_seeding_a_seeded_platform_is_refused(seeded: Seeded) -> None:
    """A second seed would collide on ids; it is refused with a conflict instead."""
    assert is_seeded(seeded.engine)
    with pytest.raises(ExitRightError) as caught:
        seed_platform(seeded.engine, users=10)
    assert caught.value.code is ErrorCode.CONFLICT


def test_a_platform_can_be_dropped_and_seeded_again(tmp_path: Path) -> None:
    """drop_platform removes tables and upload folders; the next seed starts from empty."""
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    uploads = tmp_path / "uploads"
    assert not is_seeded(engine)
    seed_platform(engine, users=20, uploads_dir=uploads)
    drop_platform(engine, uploads_dir=uploads)
    assert not is_seeded(engine)
    assert not (uploads / "avatars").exists()
    summary = seed_platform(engine, users=30, seed=4, uploads_dir=uploads)
    assert summary.rows["users"] == 30
    engine.dispose()


def test_create_schema_restores_indexes_a_seed_left_out(tmp_path: Path) -> None:
    """Tables made without indexes (an interrupted seed) get them from create_schema."""
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    create_schema(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_orders_user_id")
    create_schema(engine)
    names = {ix["name"] for ix in inspect(engine).get_indexes("orders")}
    assert "ix_orders_user_id" in names
    engine.dispose()


def test_a_bad_user_count_is_refused(tmp_path: Path) -> None:
    """Zero users is an invalid request, not an empty platform."""
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    with pytest.raises(ExitRightError) as caught:
        seed_platform(engine, users=0)
    assert caught.value.code is ErrorCode.INVALID_REQUEST
    engine.dispose()


def test_the_generator_process_yields_what_inline_generation_does() -> None:
    """Large seeds generate in a child process; its batches equal the inline ones."""
    inline: list[Batch] = list(generated_batches(9, 120, 50, "sqlite", parallel=False))
    child: list[Batch] = list(generated_batches(9, 120, 50, "sqlite", parallel=True))
    assert child == inline
