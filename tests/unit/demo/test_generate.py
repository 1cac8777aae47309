"""The demo generator: valid identifiers, real places, determinism, money and time that add up."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from functools import cache
from typing import Any

import pytest

from exitright.demo.generate import PlatformGenerator
from exitright.demo.model import REFERENCE_NOW, Batch
from exitright.demo.regions import DISTRICTS
from exitright.demo.schema import metadata
from exitright.demo.texts import is_valid_uscc
from exitright.pii.idcard import birth_date, is_valid_id_number
from exitright.pii.phone import MOBILE_PATTERN, is_valid_mobile, normalize_mobile

USERS = 400


def generate(seed: int, users: int = USERS, batch_users: int = 150) -> Batch:
    """Every batch of a run merged into one."""
    merged = Batch()
    for batch in PlatformGenerator(seed).batches(users, batch_users):
        for table, rows in batch.rows.items():
            merged.rows.setdefault(table, []).extend(rows)
        merged.files += batch.files
        merged.sessions += batch.sessions
        merged.carts += batch.carts
        merged.users += batch.users
    return merged


@cache
def platform() -> Batch:
    """One generated platform shared by the read-only tests below."""
    return generate(7)


def column(table: str, name: str) -> list[Any]:
    """The values of one column of the shared platform."""
    index = list(metadata.tables[table].columns.keys()).index(name)
    return [row[index] for row in platform().rows[table]]


def rows_as_dicts(table: str) -> list[dict[str, Any]]:
    """The shared platform's rows of ``table`` keyed by column name."""
    names = list(metadata.tables[table].columns.keys())
    return [dict(zip(names, row, strict=True)) for row in platform().rows[table]]


def test_every_row_has_one_value_per_column_of_its_table() -> None:
    """Tuples line up with the schema, so executemany puts each value in its column."""
    for table, rows in platform().rows.items():
        width = len(metadata.tables[table].columns)
        assert {len(row) for row in rows} == {width}, table


def test_user_phone_numbers_are_valid_and_distinct() -> None:
    """Phones use allocated prefixes and no two users share one."""
    phones = column("users", "phone")
    assert all(isinstance(p, str) and is_valid_mobile(p) for p in phones)
    assert len(set(phones)) == len(phones) == USERS


def test_numbers_of_people_who_are_not_users_never_collide_with_users() -> None:
    """SMS to unfinished sign-ups and pending invitations use numbers no user has."""
    users = set(column("users", "phone"))
    outsiders = {p for p in column("sms_outbox", "phone") if p not in users}
    outsiders |= {p for p in column("invitations", "invitee_phone") if p not in users}
    assert outsiders, "the platform has texted at least one non-user"
    assert all(isinstance(p, str) and is_valid_mobile(p) for p in outsiders)


def test_resident_id_numbers_are_valid_distinct_and_of_adults() -> None:
    """ID numbers carry a correct checksum, a real region and a birth date of an adult."""
    numbers = [n for n in column("users", "id_number") if n is not None]
    assert len(numbers) > USERS // 5
    assert len(set(numbers)) == len(numbers)
    codes = {d.code for d in DISTRICTS}
    for number in numbers:
        assert isinstance(number, str)
        assert is_valid_id_number(number, today=REFERENCE_NOW.date())
        assert number[:6] in codes
        born = birth_date(number)
        assert born is not None and (REFERENCE_NOW.date() - born).days > 18 * 365


def test_only_verified_users_have_a_real_name_and_id_number() -> None:
    """Real name and ID number come with real-name verification, and its record matches."""
    verifications = {r["user_id"]: r for r in rows_as_dicts("identity_verifications")}
    for user in rows_as_dicts("users"):
        if user["real_name_verified"]:
            record = verifications[user["id"]]
            assert (record["real_name"], record["id_number"]) == (
                user["real_name"],
                user["id_number"],
            )
            assert record["front_path"] == f"uploads/idcards/{user['id']}/front.jpg"
        else:
            assert user["real_name"] is None and user["id_number"] is None
            assert user["id"] not in verifications


def test_emails_are_distinct_and_well_formed() -> None:
    """E-mail addresses look like mailbox@domain and are unique."""
    emails = [e for e in column("users", "email") if e is not None]
    assert all(
        isinstance(e, str) and re.fullmatch(r"[a-z0-9]+@[a-z0-9.]+\.[a-z]+", e) for e in emails
    )
    assert len(set(emails)) == len(emails)


def test_addresses_name_real_places() -> None:
    """Province, city and district of every address belong together as in GB/T 2260."""
    places = {(d.province, d.city, d.district) for d in DISTRICTS}
    for address in rows_as_dicts("addresses"):
        assert (address["province"], address["city"], address["district"]) in places


def test_chats_mention_the_users_phone_and_an_address() -> None:
    """Customer-service free text carries the phone number, in some spelling, and an address."""
    owner = {r["id"]: r["user_id"] for r in rows_as_dicts("cs_conversations")}
    phone_of = {r["id"]: r["phone"] for r in rows_as_dicts("users")}
    mentioned = 0
    for message in rows_as_dicts("cs_messages"):
        body = str(message["body"])
        for match in MOBILE_PATTERN.finditer(body):
            assert normalize_mobile(match.group(0)) == phone_of[owner[message["conversation_id"]]]
            mentioned += 1
    assert mentioned > 0
    assert any(
        re.search(r"(省|市).+(区).+号", str(m["body"])) for m in rows_as_dicts("cs_messages")
    )


def test_merchant_notes_are_keyed_by_a_users_phone_only() -> None:
    """Merchant notes have no user id; their phone is a user's number."""
    assert "user_id" not in metadata.tables["merchant_customer_notes"].columns
    phones = set(column("users", "phone"))
    assert set(column("merchant_customer_notes", "customer_phone")) <= phones


def test_invitations_link_two_users_or_a_user_and_a_phone() -> None:
    """Accepted invitations link an earlier user to a later one; pending ones hold a phone."""
    invitations = rows_as_dicts("invitations")
    accepted = [i for i in invitations if i["status"] == "accepted"]
    assert accepted and any(i["status"] == "pending" for i in invitations)
    for invitation in accepted:
        assert isinstance(invitation["inviter_id"], int) and isinstance(
            invitation["invitee_id"], int
        )
        assert invitation["inviter_id"] < invitation["invitee_id"]


def test_favourites_are_distinct_user_product_pairs() -> None:
    """The many-to-many table never repeats a pair (it is the primary key)."""
    pairs = [(r[0], r[1]) for r in platform().rows["favourites"]]
    assert pairs and len(set(pairs)) == len(pairs)


def test_times_follow_the_life_of_an_order_and_never_pass_now() -> None:
    """Paid after placed, completed after paid, nothing after the generated world's now."""
    for order in rows_as_dicts("orders"):
        created, paid, completed = order["created_at"], order["paid_at"], order["completed_at"]
        assert created < REFERENCE_NOW
        if paid is not None:
            assert created <= paid < REFERENCE_NOW
        if completed is not None:
            assert order["status"] == "completed"
            assert paid is not None and paid < completed <= REFERENCE_NOW
        elif order["status"] == "completed":
            pytest.fail("a completed order without completed_at")


def test_order_totals_add_up_from_their_items() -> None:
    """An order's total is its items plus the fee minus the discount."""
    items: dict[int, int] = defaultdict(int)
    for item in rows_as_dicts("order_items"):
        items[item["order_id"]] += item["quantity"] * item["unit_price_cents"]
    for order in rows_as_dicts("orders"):
        expected = items[order["id"]] + order["delivery_fee_cents"] - order["discount_cents"]
        assert order["total_cents"] == expected


def test_wallet_balances_equal_their_ledgers() -> None:
    """Each wallet's balance is the running sum of its ledger, which never goes negative."""
    running: dict[int, int] = defaultdict(int)
    for entry in sorted(rows_as_dicts("wallet_ledger"), key=lambda e: e["id"]):
        running[entry["user_id"]] += entry["amount_cents"]
        assert running[entry["user_id"]] == entry["balance_after_cents"] >= 0
    for wallet in rows_as_dicts("wallets"):
        assert wallet["balance_cents"] == running[wallet["user_id"]]
    assert any(w["balance_cents"] for w in rows_as_dicts("wallets"))


def test_company_invoices_carry_a_valid_social_credit_code() -> None:
    """Company titles come with a tax id whose GB 32100 check character is right."""
    companies = [r for r in rows_as_dicts("invoices") if r["title_type"] == "company"]
    assert companies
    assert all(is_valid_uscc(str(r["tax_id"])) for r in companies)


def test_files_are_user_scoped_and_referenced_by_the_rows() -> None:
    """Every uploaded file sits under uploads/<kind>/<user_id>/ and a row points at it."""
    referenced = {p for p in column("users", "avatar_path") if p}
    referenced |= set(column("identity_verifications", "front_path"))
    referenced |= set(column("identity_verifications", "back_path"))
    referenced |= set(column("review_photos", "path"))
    assert set(platform().files) == referenced
    assert all(
        re.fullmatch(r"uploads/(avatars|idcards|reviews)/\d+/\w+\.jpg", f) for f in platform().files
    )


def test_redis_entries_name_the_user_in_their_key() -> None:
    """Sessions are session:{user_id}:{token} and carts cart:{user_id}."""
    assert platform().sessions and platform().carts
    for key, fields in platform().sessions:
        assert re.fullmatch(r"session:(\d+):[0-9a-f]{32}", key)
        assert key.split(":")[1] == fields["user_id"]
    assert all(re.fullmatch(r"cart:\d+", key) for key, _ in platform().carts)


def test_the_same_seed_gives_the_same_platform() -> None:
    """Two runs with one seed are equal row for row, file for file, key for key."""
    first, second = generate(11, 200), generate(11, 200)
    assert first == second


def test_a_different_seed_gives_a_different_platform() -> None:
    """Another seed changes the people, not just the order."""
    first, second = generate(11, 200), generate(12, 200)
    assert set(first.rows["users"]).isdisjoint(second.rows["users"])
    assert first.rows["orders"] != second.rows["orders"]


def test_batch_size_and_platform_size_do_not_change_a_user() -> None:
    """The first users of a large platform are the users of a small one, however batched."""
    small = generate(5, 60, batch_users=60)
    large = generate(5, 200, batch_users=7)
    assert large.rows["users"][:60] == small.rows["users"]
    assert large.rows["orders"][: len(small.rows["orders"])] == small.rows["orders"]


def test_the_generator_ignores_global_random_state() -> None:
    """Seeding the random module does not change the output: the generator has its own."""
    random.seed(1)
    first = generate(3, 50)
    random.seed(2)
    assert generate(3, 50) == first


def test_user_counts_outside_the_supported_range_are_refused() -> None:
    """Zero users or a zero batch size is a caller error, reported at once."""
    with pytest.raises(ValueError, match="users"):
        next(PlatformGenerator(0).batches(0))
    with pytest.raises(ValueError, match="batch_users"):
        next(PlatformGenerator(0).batches(10, 0))


def test_a_generator_runs_once() -> None:
    """A second run would reuse user ids with new row ids, so it is refused."""
    generator = PlatformGenerator(0)
    list(generator.batches(5))
    with pytest.raises(RuntimeError, match="once"):
        next(generator.batches(5))
