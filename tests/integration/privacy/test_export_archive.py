"""An access request end to end on the workflow: the zip it produces, on SQLite and PostgreSQL.

The demo platform's store is SQLite or PostgreSQL (``engine_url``); the request goes through
submit → verify → advance like any other, and the archive is read back as its owner would.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from exitright import bootstrap, worker
from exitright.cancellation import kinds, services
from exitright.cancellation.commands import VerifyRequest
from exitright.cancellation.model import Actor, RequestKind, State
from exitright.cancellation.ports import Identifiers
from exitright.clock import FixedClock
from exitright.config import Settings
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.demo.schema import addresses, orders, users
from exitright.demo.seed import seed_platform
from exitright.ledger import service as ledger
from exitright.privacy.archives import PURGE_EVERY, ExportArchives
from exitright.privacy.export import exported_tables


@dataclass
class Shop:
    """A seeded demo shop, the workflow over it, and its busiest customer."""

    runtime: bootstrap.Runtime
    user_id: int
    phone: str
    orders: int
    addresses: int


@pytest.fixture
def shop(settings: Settings, engine_url: str, tmp_path: Path) -> Iterator[Shop]:
    """The demo platform's store on ``engine_url``; the engine database on SQLite."""
    configured = settings.model_copy(update={"demo_database_url": engine_url})
    demo = make_engine(engine_url)
    try:
        seed_platform(demo, users=20, seed=3, uploads_dir=tmp_path / "uploads")
        with demo.connect() as conn:
            row = conn.execute(
                select(users.c.id, users.c.phone, func.count(orders.c.id).label("n"))
                .join(orders, orders.c.user_id == users.c.id)
                .where(users.c.phone.is_not(None))
                .group_by(users.c.id, users.c.phone)
                .order_by(func.count(orders.c.id).desc(), users.c.id)
                .limit(1)
            ).one()
            n_addresses = conn.execute(
                select(func.count()).where(addresses.c.user_id == row.id)
            ).scalar_one()
    finally:
        demo.dispose()
    migrate.upgrade(configured.engine_url)
    rt = bootstrap.build(configured)
    try:
        yield Shop(rt, int(row.id), str(row.phone), int(row.n), int(n_addresses))
    finally:
        rt.close()


def completed_access(shop: Shop) -> str:
    """Submit, verify and advance an access request for the customer; returns its id."""
    rt = shop.runtime
    command = services.OpenRequest(
        RequestKind.ACCESS, Identifiers("phone", shop.phone), Actor.user()
    )
    request_id = services.submit(command, rt.uow(), rt.ports).record.request.id
    services.verify(VerifyRequest(request_id, Actor.system("otp")), rt.uow(), rt.ports)
    record = services.advance(services.AdvanceRequest(request_id, "w"), rt.uow(), rt.ports)
    assert record.request.state is State.COMPLETED, record.request.failure
    return request_id


def unzip(data: bytes) -> dict[str, Any]:
    """Every file of the archive: JSON parsed, CSV as rows (byte-order mark removed)."""
    out: dict[str, Any] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            raw = zf.read(name)
            if name.endswith(".json"):
                out[name] = json.loads(raw)
            else:
                out[name] = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    return out


def as_csv(value: Any) -> str:
    """A JSON value as the CSV writer spells it."""
    return "" if value is None else str(value)


def test_the_export_holds_every_mapped_table_labelled_and_no_credentials(shop: Shop) -> None:
    """Each table the map links to the account is in the zip, in JSON and CSV that agree."""
    rt = shop.runtime
    request_id = completed_access(shop)
    found = kinds.download_export(request_id, rt.uow(), rt.ports, owner=None)
    files = unzip(found.data)
    eraser = rt.ports.eraser
    assert isinstance(eraser, bootstrap.EngineEraser)
    expected = {f"{t.store}/{t.name}" for t in exported_tables(eraser.dm)}
    manifest = files.pop("manifest.json")
    assert {t["file"] for t in manifest["tables"]} == expected
    assert set(files) == {f"{n}.json" for n in expected} | {f"{n}.csv" for n in expected}

    assert len(files["platform/users.json"]["rows"]) == 1
    assert files["platform/users.json"]["rows"][0]["id"] == shop.user_id
    assert len(files["platform/orders.json"]["rows"]) == shop.orders
    assert len(files["platform/addresses.json"]["rows"]) == shop.addresses
    assert {r["user_id"] for r in files["platform/orders.json"]["rows"]} == {shop.user_id}

    for entry in manifest["tables"]:
        body = files[f"{entry['file']}.json"]
        table = files[f"{entry['file']}.csv"]
        columns = [c["name"] for c in entry["columns"]]
        assert "password_hash" not in columns
        assert all(c["category"] != "credentials" for c in entry["columns"])
        for c in entry["columns"]:
            if c["category"] is not None:
                assert c["label"]["zh-CN"] and c["label"]["en"]
                assert c["label"]["en"] != f"privacy.pi.{c['category']}"
                assert body["categories"][c["name"]] == c["category"]
        # The CSV: header, categories, then the JSON's rows value for value.
        assert table[0] == columns
        assert table[1] == [c["category"] or "" for c in entry["columns"]]
        assert table[2:] == [[as_csv(r[c]) for c in columns] for r in body["rows"]]
        assert entry["rows"] == len(body["rows"])
    assert found.rows == sum(t["rows"] for t in manifest["tables"])
    assert found.tables == len(expected)


def test_generation_and_download_are_ledgered_with_counts_only(shop: Shop) -> None:
    """export.generated and export.downloaded carry table and row counts, never a value."""
    rt = shop.runtime
    request_id = completed_access(shop)
    found = kinds.download_export(request_id, rt.uow(), rt.ports, owner=None)
    with rt.engine.connect() as conn:
        entries = ledger.for_request(conn, request_id)
    events = [e.event for e in entries]
    assert "export.generated" in events and "export.downloaded" in events
    assert events.index("export.generated") < events.index("request.complete")
    generated = next(e for e in entries if e.event == "export.generated")
    downloaded = next(e for e in entries if e.event == "export.downloaded")
    assert generated.data == {"tables": found.tables, "rows": found.rows}
    assert downloaded.data == {"tables": found.tables, "rows": found.rows, "bytes": len(found.data)}
    text = json.dumps([e.data for e in entries], ensure_ascii=False)
    assert shop.phone not in text and shop.phone[-8:] not in text


def test_the_archive_is_encrypted_at_rest_and_gone_after_its_expiry(shop: Shop) -> None:
    """The file under the data dir is not a zip; past the expiry it is not served, then purged."""
    rt = shop.runtime
    request_id = completed_access(shop)
    path = rt.settings.data_dir / "exports" / f"{request_id}.zip.enc"
    raw = path.read_bytes()
    assert b"PK\x03\x04" not in raw and shop.phone.encode() not in raw
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    exports = rt.ports.exports
    assert exports is not None and exports.ready(request_id)

    header = json.loads(raw.partition(b"\n")[0])
    moved = dict(header, expires_at="2000-01-01T00:00:00+00:00")
    # An expiry edited on disk does not open (the header is authenticated) ...
    path.write_bytes(json.dumps(moved, sort_keys=True).encode() + b"\n" + raw.partition(b"\n")[2])
    assert exports.read(request_id) is None
    with pytest.raises(kinds.ExportNotReadyError):
        kinds.download_export(request_id, rt.uow(), rt.ports, owner=None)
    # ... and an expired file is deleted by the worker's next pass.
    assert worker.purge_exports(rt, "w") == 1
    assert not path.exists()


def test_an_archive_opens_only_for_its_request_and_key(tmp_path: Path) -> None:
    """Renamed to another request, or read with another secret, it does not open; ids that are
    not request ids never become paths."""
    clock = FixedClock(datetime(2026, 11, 2, tzinfo=UTC))
    store = ExportArchives(tmp_path, b"k" * 32, clock, timedelta(days=7))
    store.put("req_aaaa", b"PK zip", tables=1, rows=2)
    found = store.read("req_aaaa")
    assert found is not None and found.data == b"PK zip" and (found.tables, found.rows) == (1, 2)
    (tmp_path / "req_aaaa.zip.enc").rename(tmp_path / "req_bbbb.zip.enc")
    assert store.read("req_bbbb") is None
    (tmp_path / "req_bbbb.zip.enc").rename(tmp_path / "req_aaaa.zip.enc")
    assert ExportArchives(tmp_path, b"o" * 32, clock, timedelta(days=7)).read("req_aaaa") is None
    for odd in ("../req_aaaa", "req_AAAA", "x"):
        assert store.read(odd) is None and not store.ready(odd)
    clock.advance(timedelta(days=7))
    assert not store.ready("req_aaaa") and store.read("req_aaaa") is None
    assert store.purge_expired() == 1
    brief = ExportArchives(tmp_path, b"k" * 32, clock, timedelta(0))  # expired when written
    brief.put("req_cccc", b"zip", tables=0, rows=0)
    assert brief.purge_expired() == 1
    brief.put("req_dddd", b"zip", tables=0, rows=0)
    assert brief.purge_expired() == 0  # the directory is listed at most once a minute
    clock.advance(PURGE_EVERY)
    assert brief.purge_expired() == 1
