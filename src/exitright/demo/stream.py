"""The generator's state: one seeded random stream, id counters, and identifier permutations.

Identifiers that must be unique (phone numbers, e-mail addresses, resident ID numbers) are not
drawn and checked against a set; they are computed from the user id through a seeded bijection
(an affine permutation), which makes them unique by construction, costs nothing to check, and
lets anyone compute user *n*'s phone number without generating users 1..n-1.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from typing import Final

from exitright.demo import vocab
from exitright.demo.model import PLATFORM_LAUNCH, REFERENCE_NOW
from exitright.demo.regions import DISTRICTS
from exitright.pii.idcard import make_id_number

__all__ = ["MAX_USERS", "Stream"]

# User ids stay below this bound; people who are not users (texted during a sign-up never
# finished, invited but never joined, a relative's address) get numbers from above it.
MAX_USERS: Final = 90_000_000

# Prefixes drawn for generated numbers: the common ones of the three large carriers.
_PHONE_PREFIXES: Final = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "178", "180", "181",
    "182", "183", "185", "186", "187", "188", "189", "191", "193", "195", "198", "199",
)  # fmt: skip

# Birth dates of adult account holders, and the size of the ID-number space they span.
_BIRTH_FIRST: Final = date(1960, 1, 1)
_BIRTH_DAYS: Final = (date(2006, 12, 31) - _BIRTH_FIRST).days + 1
_ID_SPACE: Final = len(DISTRICTS) * _BIRTH_DAYS * 500


class _Permutation:
    """A seeded bijection of ``range(size)``: ``x -> (a*x + b) mod size``, ``gcd(a, size) = 1``."""

    def __init__(self, rng: random.Random, size: int) -> None:
        self.size = size
        a = rng.randrange(size // 3, size) | 1
        while math.gcd(a, size) != 1:
            a += 2
        self.a = a
        self.b = rng.randrange(size)

    def __call__(self, x: int) -> int:
        return (self.a * x + self.b) % self.size


class Stream:
    """Random stream, counters and identifiers shared by every part of the generator."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        # Reproducible demo data, not secrets: a seeded Mersenne Twister is what is wanted here.
        self._rng = random.Random(f"exitright-demo/{seed}/users")  # noqa: S311
        keys = random.Random(f"exitright-demo/{seed}/identifiers")  # noqa: S311
        self._phone_perm = _Permutation(keys, 100_000_000)
        self._email_perm = _Permutation(keys, 10_000_000)
        self._qq_perm = _Permutation(keys, 900_000_000)
        self._id_perm = _Permutation(keys, _ID_SPACE)
        self._ids: dict[str, int] = {}
        self._strangers = 0

    def phone_of(self, user_id: int) -> str:
        """The phone number of user ``user_id``; distinct ids always get distinct numbers."""
        suffix = self._phone_perm(user_id)
        prefix = _PHONE_PREFIXES[(suffix * 7 + user_id) % len(_PHONE_PREFIXES)]
        return f"{prefix}{suffix:08d}"

    def email_of(self, user_id: int, handle: str, domain: str) -> str:
        """A unique e-mail address for ``user_id``: numeric at qq.com, else ``handle`` + digits."""
        if domain == "qq.com":
            return f"{100_000_000 + self._qq_perm(user_id)}@qq.com"
        return f"{handle}{self._email_perm(user_id)}@{domain}"

    def id_number_of(self, user_id: int, male: bool) -> str:
        """A unique, valid resident ID number for ``user_id`` (region, birth, sex, checksum)."""
        # Mixed-radix decoding of the permuted index gives a distinct (region, birth day, k).
        index, region = divmod(self._id_perm(user_id), len(DISTRICTS))
        k, day = divmod(index, _BIRTH_DAYS)
        born = _BIRTH_FIRST + timedelta(days=day)
        return make_id_number(DISTRICTS[region].code, born, 2 * k + (1 if male else 0))

    def stranger_phone(self) -> str:
        """The number of someone who is not a user, distinct from every user's number."""
        self._strangers += 1
        return self.phone_of(MAX_USERS + self._strangers)

    def next_id(self, table: str) -> int:
        """The next primary key of ``table``."""
        value = self._ids.get(table, 0) + 1
        self._ids[table] = value
        return value

    def when(self, start: datetime, end: datetime = REFERENCE_NOW) -> datetime:
        """A moment between ``start`` and ``end`` (whole seconds)."""
        span = int((end - start).total_seconds())
        return start + timedelta(seconds=self._rng.randrange(span)) if span > 1 else start

    def ip(self) -> str:
        """An IPv4 address from a Chinese carrier's block."""
        rng = self._rng
        return f"{rng.choice(vocab.IP_PREFIXES)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"

    def name(self, male: bool) -> str:
        """A Chinese full name."""
        return self.name_with_pinyin(male)[0]

    def name_with_pinyin(self, male: bool) -> tuple[str, str]:
        """A Chinese full name and its pinyin (for e-mail handles); common surnames more often."""
        rng = self._rng
        surname, s_py = vocab.SURNAMES[min(int(rng.expovariate(0.08)), len(vocab.SURNAMES) - 1)]
        given, g_py = rng.choice(vocab.GIVEN_MALE if male else vocab.GIVEN_FEMALE)
        return surname + given, s_py + g_py

    def since_launch(self) -> datetime:
        """A moment between the platform's launch and now."""
        return self.when(PLATFORM_LAUNCH)
