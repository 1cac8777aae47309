"""Deterministic zh-CN data for the demo platform: same seed, same rows.

Pure: no I/O, no clock, no global random state. Everything is drawn from ``random.Random``
instances seeded from the caller's seed, and "now" is the fixed ``REFERENCE_NOW``, so a seed
names one platform forever. Users are generated one after another from a single stream, so the
first *n* users of a 100,000-user platform are exactly the users of an *n*-user one, whatever the
batch size.

Rows are tuples in the column order of :mod:`exitright.demo.schema`, ready for ``executemany``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Final

from exitright.demo import vocab
from exitright.demo.catalog import build_catalog
from exitright.demo.model import (
    PLATFORM_LAUNCH,
    REFERENCE_NOW,
    Batch,
    Person,
    format_address,
    upload_path,
)
from exitright.demo.orders import OrderWriter
from exitright.demo.regions import COMPOUNDS, DISTRICTS, OFFICES, STREETS
from exitright.demo.stream import MAX_USERS

__all__ = ["PlatformGenerator"]

_SPAN: Final = int((REFERENCE_NOW - PLATFORM_LAUNCH).total_seconds())
_VERIFIERS: Final = ("公安部身份认证", "支付宝实名认证", "银行卡四要素认证")


class PlatformGenerator(OrderWriter):
    """The demo platform for one seed: reference data, then users in order with all they own."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed, build_catalog(seed))
        self._started = False

    def batches(self, users: int, batch_users: int = 2000) -> Iterator[Batch]:
        """Users ``1..users`` and everything that hangs off them, ``batch_users`` users at a time.

        Once per generator: its id counters and random stream move forward as it goes.
        """
        if not 0 < users < MAX_USERS:
            raise ValueError(f"users must be within 1..{MAX_USERS - 1}")
        if batch_users < 1:
            raise ValueError("batch_users must be at least 1")
        if self._started:
            # A second pass would reuse user ids with fresh row ids: not the same platform.
            raise RuntimeError("a PlatformGenerator generates once; make a new one")
        self._started = True
        batch = Batch()
        for user_id in range(1, users + 1):
            self._user(user_id, batch)
            batch.users += 1
            if batch.users == batch_users:
                yield batch
                batch = Batch()
        if batch.users:
            yield batch

    def _detail(self, *, office: bool) -> str:
        rng = self._rng
        street = f"{rng.choice(STREETS)}{rng.randint(1, 999)}号"
        if office:
            return f"{street}{rng.choice(OFFICES)}{rng.randint(2, 30)}层"
        return (
            f"{street}{rng.choice(COMPOUNDS)}{rng.randint(1, 30)}幢"
            f"{rng.randint(1, 4)}单元{rng.randint(1, 33)}{rng.randint(1, 4):02d}室"
        )

    def _user(self, user_id: int, out: Batch) -> None:
        rng = self._rng
        male = rng.random() < 0.5
        name, pinyin = self.name_with_pinyin(male)
        phone = self.phone_of(user_id)
        r = rng.random()
        email = None
        if r < 0.65:
            domain = "qq.com" if r < 0.25 else rng.choice(vocab.EMAIL_DOMAINS[1:])
            email = self.email_of(user_id, pinyin, domain)
        # Sign-ups spread over the platform's life, more of them in recent years.
        created = PLATFORM_LAUNCH + timedelta(seconds=int(_SPAN * rng.random() ** 0.7))
        home, work = rng.choice(DISTRICTS), rng.choice(DISTRICTS[:40])
        home_detail, work_detail = self._detail(office=False), self._detail(office=True)
        person = Person(
            user_id, phone, name, email, home, format_address(home, home_detail),
            work, format_address(work, work_detail), created,
        )  # fmt: skip
        if rng.random() < 0.5:
            nickname = f"{rng.choice(vocab.NICK_PARTS_A)}{rng.choice(vocab.NICK_PARTS_B)}"
        else:
            nickname = f"{rng.choice(vocab.NICK_LATIN)}_{rng.randrange(10000)}"
        avatar = None
        if rng.random() < 0.4:
            avatar = upload_path("avatars", user_id, "avatar.jpg")
            out.files.append(avatar)
        verified = rng.random() < 0.3
        id_number = self.id_number_of(user_id, male) if verified else None
        # Most users sign in with a one-time code and never set a password.
        password = None
        if rng.random() < 0.4:
            password = (
                f"pbkdf2_sha256$600000${rng.getrandbits(64):016x}${rng.getrandbits(256):064x}"
            )
        last_login = self.when(created)
        out.add("users", (
            user_id, phone, email, nickname, name if verified else None, id_number, verified,
            password, avatar, "active" if rng.random() < 0.985 else "frozen", created, last_login,
        ))  # fmt: skip
        if verified:
            front = upload_path("idcards", user_id, "front.jpg")
            back = upload_path("idcards", user_id, "back.jpg")
            out.files += (front, back)
            out.add("identity_verifications", (
                self.next_id("identity_verifications"), user_id, name, id_number, front, back,
                rng.choice(_VERIFIERS),
                self.when(created, min(created + timedelta(days=30), REFERENCE_NOW)),
            ))  # fmt: skip
        self._addresses(person, home_detail, work_detail, out)
        self._devices(person, out)
        self._activity(person, out)
        self.write_orders(person, out)
        self._invitations(person, out)
        self._messages(person, out)
        self._redis(person, last_login, out)

    def _addresses(self, p: Person, home_detail: str, work_detail: str, out: Batch) -> None:
        rng = self._rng
        home, work = p.home, p.work
        out.add("addresses", (
            self.next_id("addresses"), p.user_id, p.name, p.phone, home.province, home.city,
            home.district, home_detail, "家", True, p.created,
        ))  # fmt: skip
        if rng.random() < 0.5:
            out.add("addresses", (
                self.next_id("addresses"), p.user_id, p.name, p.phone, work.province, work.city,
                work.district, work_detail, "公司", False, self.when(p.created),
            ))  # fmt: skip
        if rng.random() < 0.15:
            # A relative's address: someone else's name and number inside this user's account.
            d = rng.choice(DISTRICTS)
            out.add("addresses", (
                self.next_id("addresses"), p.user_id, self.name(rng.random() < 0.5),
                self.stranger_phone(), d.province, d.city, d.district, self._detail(office=False),
                "父母", False, self.when(p.created),
            ))  # fmt: skip

    def _devices(self, p: Person, out: Batch) -> None:
        rng = self._rng
        device_ids: list[int] = []
        for _ in range(1 if rng.random() < 0.65 else rng.randint(2, 3)):
            device_id = self.next_id("devices")
            device_ids.append(device_id)
            platform, model = rng.choice(vocab.DEVICE_MODELS)
            u = f"{rng.getrandbits(128):032x}"
            push = f"{rng.getrandbits(160):040x}" if platform in ("ios", "android") else None
            first = self.when(p.created)
            out.add("devices", (
                device_id, p.user_id, f"{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}",
                platform, model, push, first, self.when(first),
            ))  # fmt: skip
        for _ in range(rng.randint(1, 4)):
            out.add("login_history", (
                self.next_id("login_history"), p.user_id, rng.choice(device_ids), self.ip(),
                rng.choice(("sms_code", "sms_code", "password", "wechat")), rng.random() < 0.95,
                self.when(p.created),
            ))  # fmt: skip

    def _activity(self, p: Person, out: Batch) -> None:
        rng = self._rng
        liked = rng.sample(
            range(1, self.catalog.product_count + 1), k=rng.choice((0, 0, 1, 2, 3, 5))
        )
        for product_id in liked:
            out.add("favourites", (p.user_id, product_id, self.when(p.created)))
        for _ in range(rng.choice((0, 1, 2, 3, 4))):
            out.add("search_history", (
                self.next_id("search_history"), p.user_id, rng.choice(vocab.SEARCH_TERMS),
                self.when(p.created),
            ))  # fmt: skip

    def _invitations(self, p: Person, out: Batch) -> None:
        rng = self._rng
        if p.user_id > 10 and rng.random() < 0.15:
            # Invited by an earlier user: both ends of the row are accounts.
            sent = p.created - timedelta(hours=rng.randint(1, 72))
            out.add("invitations", (
                self.next_id("invitations"), rng.randrange(1, p.user_id), p.user_id, p.phone,
                f"{rng.getrandbits(40):010x}", "accepted", 500, sent, p.created,
            ))  # fmt: skip
        if rng.random() < 0.05:
            out.add("invitations", (
                self.next_id("invitations"), p.user_id, None, self.stranger_phone(),
                f"{rng.getrandbits(40):010x}", "pending", 0, self.when(p.created), None,
            ))  # fmt: skip

    def _messages(self, p: Person, out: Batch) -> None:
        rng = self._rng
        code_sms = vocab.SMS_TEMPLATES[0][1]
        out.add("sms_outbox", (
            self.next_id("sms_outbox"), p.phone, "login_code",
            code_sms.format(code=f"{rng.randrange(10**6):06d}"), "delivered",
            p.created - timedelta(minutes=1), p.created - timedelta(seconds=50),
        ))  # fmt: skip
        if rng.random() < 0.08:
            # A code texted to a number whose owner never finished signing up.
            at = self.since_launch()
            out.add("sms_outbox", (
                self.next_id("sms_outbox"), self.stranger_phone(), "login_code",
                code_sms.format(code=f"{rng.randrange(10**6):06d}"),
                rng.choice(("delivered", "failed")), at, at + timedelta(seconds=5),
            ))  # fmt: skip

    def _redis(self, p: Person, last_login: datetime, out: Batch) -> None:
        rng = self._rng
        if rng.random() < 0.3:
            token = f"{rng.getrandbits(128):032x}"
            out.sessions.append((
                f"session:{p.user_id}:{token}",
                {"user_id": str(p.user_id), "phone": p.phone, "ip": self.ip(),
                 "created_at": str(last_login)},
            ))  # fmt: skip
        if rng.random() < 0.15:
            picks = rng.sample(range(1, self.catalog.product_count + 1), k=rng.randint(1, 4))
            out.carts.append((f"cart:{p.user_id}", {str(x): str(rng.randint(1, 3)) for x in picks}))
