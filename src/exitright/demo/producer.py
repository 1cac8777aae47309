"""Generating batches next to the inserts: in this process, or in a child process for large seeds.

Generation and SQLite's inserts each take about half of a large seed's time, and each uses one
core; on a two-core machine running the generator in a child process lets them overlap. Small
seeds generate inline, where starting a process would cost more than it saves. Both paths yield
the same batches: the generator is deterministic for its seed.

The child is ``python -m exitright.demo.producer`` writing pickled batches to its stdout, rather
than ``multiprocessing``: a spawned ``multiprocessing`` child re-imports the caller's main module
(which breaks for scripts without a ``__main__`` guard and for code run from stdin), and a forked
one copies the parent's threads' locks. A pipe also bounds memory for free: the child blocks when
the parent falls behind.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final

from exitright.demo.generate import PlatformGenerator
from exitright.demo.model import Batch
from exitright.demo.sink import prepare_rows

__all__ = ["PARALLEL_MIN_USERS", "generated_batches"]

# Below this many users a child process costs more (start-up, pickling) than it saves.
PARALLEL_MIN_USERS: Final = 20_000


def _prepared(seed: int, users: int, batch_users: int, dialect_name: str) -> Iterator[Batch]:
    for batch in PlatformGenerator(seed).batches(users, batch_users):
        batch.rows = prepare_rows(dialect_name, batch.rows)
        yield batch


def _child_env() -> dict[str, str]:
    # The child must import this same package even when it runs from a source tree.
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


def _read(stream: IO[bytes]) -> Iterator[Batch]:
    while True:
        try:
            item = pickle.load(stream)  # noqa: S301 -- written by our own child process
        except EOFError:
            return
        if not isinstance(item, Batch):
            raise RuntimeError("demo data generator sent something other than a batch")
        yield item


def generated_batches(
    seed: int, users: int, batch_users: int, dialect_name: str, *, parallel: bool | None = None
) -> Iterator[Batch]:
    """Prepared batches of users ``1..users``; ``parallel=None`` decides by size."""
    if parallel is None:
        parallel = users >= PARALLEL_MIN_USERS
    if not parallel:
        yield from _prepared(seed, users, batch_users, dialect_name)
        return
    args = [str(seed), str(users), str(batch_users), dialect_name]
    child = subprocess.Popen(  # noqa: S603 -- our own module, arguments are integers and a name
        [sys.executable, "-m", "exitright.demo.producer", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_child_env(),
    )
    assert child.stdout is not None and child.stderr is not None  # both are PIPE above
    expected = -(-users // batch_users)
    received = 0
    try:
        for batch in _read(child.stdout):
            received += 1
            yield batch
        child.wait()
        if child.returncode != 0 or received != expected:
            message = child.stderr.read().decode(errors="replace").strip().splitlines()
            reason = message[-1] if message else f"exit code {child.returncode}"
            raise RuntimeError(f"demo data generator failed: {reason}")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()


def main(argv: list[str]) -> None:
    """Child process: write each prepared batch, pickled, to stdout."""
    seed, users, batch_users = (int(a) for a in argv[:3])
    out = sys.stdout.buffer
    for batch in _prepared(seed, users, batch_users, argv[3]):
        pickle.dump(batch, out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
