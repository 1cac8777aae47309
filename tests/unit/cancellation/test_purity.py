"""The rule of the core, checked: no I/O libraries and no clock reads in cancellation/ or otp."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).parents[3] / "src" / "exitright"
CORE_FILES = [
    *sorted((SRC / "cancellation").glob("*.py")),
    SRC / "identity" / "otp.py",
    SRC / "clock.py",
]
ALLOWED_THIRD_PARTY = {"chinese_calendar"}
# The core modules STYLE.md names, plus the Clock port and the error model.
ALLOWED_OWN = {
    "exitright.cancellation",
    "exitright.clock",
    "exitright.errors",
    "exitright.identity.otp",
    "exitright.datamap.model",
    "exitright.datamap.validate",
    "exitright.erasure.planner",
    "exitright.audit.rules",
}
# Reading the clock is the Clock port's job (``clock.now()``); SystemClock in clock.py is the one
# place that asks the machine.
CLOCK_READS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "time_ns"}
CLOCK_OWNERS = {"datetime", "date", "time"}


def _imports(tree: ast.AST) -> set[str]:
    """Every module a file imports."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.name)
def test_a_core_module_imports_only_the_standard_library_and_core_modules(path: Path) -> None:
    """No SQLAlchemy, HTTP or web framework can slip into the pure core."""
    for name in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        top = name.split(".")[0]
        if top == "exitright":
            assert any(name == own or name.startswith(own + ".") for own in ALLOWED_OWN), name
        else:
            assert top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY, name


@pytest.mark.parametrize(
    "path", [p for p in CORE_FILES if p.name != "clock.py"], ids=lambda p: p.name
)
def test_a_core_module_never_reads_the_clock(path: Path) -> None:
    """Time comes from the Clock port, so tests control it."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CLOCK_READS
        ):
            owner = node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            assert owner_name not in CLOCK_OWNERS, (
                f"{path.name}:{node.lineno} calls .{node.func.attr}()"
            )
