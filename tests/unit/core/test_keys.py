"""Development key files: created once, whole (mode 0600), one file per key."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor

from exitright.config import Settings
from exitright.keys import load_key


def test_processes_starting_together_get_one_whole_key(settings: Settings) -> None:
    """Concurrent first reads agree on one 32-byte key and leave no temporary files."""
    with ThreadPoolExecutor(max_workers=16) as pool:
        keys = list(pool.map(lambda _: load_key(settings, "secret"), range(16)))
    assert len(set(keys)) == 1
    assert len(keys[0]) == 32
    path = settings.key_dir / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in settings.key_dir.iterdir()] == ["secret.key"]


def test_each_key_is_its_own_file(settings: Settings) -> None:
    """The pseudonym key is not the secret key."""
    assert load_key(settings, "secret") != load_key(settings, "pseudonym")
