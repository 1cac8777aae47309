"""Fuzz the data map loader: any text or structure is a map or clear problems, never a traceback.

``parse_map`` returns problems (each with a catalog message in both languages, on one line);
``load_map`` raises :class:`ExitRightError`; ``exitright datamap validate`` exits 2 with one
line per problem and a summary. Nothing else may escape — no ``KeyError`` from a strange key,
no ``RecursionError`` from deep nesting, no ``TypeError`` from a list where a mapping belongs.
The audit profile loader has its own fuzz tests in tests/unit/audit/test_load.py.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from exitright.cli import app
from exitright.datamap.loader import load_map, parse_map
from exitright.datamap.model import DataMap
from exitright.datamap.validate import Problem
from exitright.errors import ErrorCode, ExitRightError
from exitright.i18n import gettext
from tests.unit.datamap.maps import BASE

KEYS = [
    "version", "platform", "subject", "stores", "store", "table", "identifiers", "phone",
    "kind", "url", "tables", "link", "column", "parent", "action", "retain", "basis", "from",
    "pi", "keys", "pattern", "fields", "paths", "root", "anonymize", "reason", "users", "x",
]  # fmt: skip
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "sql",
            "redis",
            "files",
            "delete",
            "keep",
            "retain",
            "anonymize",
            "users",
            "{user_id}",
            "${HOME}",
            "${UNSET_X}",
            "../x",
            "a; DROP TABLE b",
            "cn-ecl-31",
            "sqlite://",
            "*",
            "contact.phone",
        ]
    )
    | st.dates()
)
PLAIN = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=16,
)
TEXT = st.text(
    alphabet=st.sampled_from(list("abcdefgkprstuvx:-[]{}&*!|>'\"#%@`,?$\n \t0123456789._/")),
    max_size=200,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a node of a nested dict/list structure."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_maps(draw: st.DrawFn) -> dict[str, Any]:
    """A valid map with a few of its nodes replaced by arbitrary values (or removed)."""
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = draw(PLAIN)
    return data


def assert_clear(problems: list[Problem]) -> None:
    """Each problem has a place and a catalog message in both languages, on one line."""
    assert problems
    for p in problems:
        assert p.place and p.msgid.startswith("datamap.")
        for lang in ("en", "zh-CN"):
            message = gettext(lang, p.msgid, **{**p.params, "place": p.place})
            assert message != p.msgid, f"{p.msgid} missing in {lang}"
            assert "\n" not in message


def check_text(text: str) -> None:
    """parse_map on ``text``: a map without problems, or problems that are clear."""
    dm, problems = parse_map(text, {"HOME": "/home/x"}, source="fuzz.yaml")
    if problems:
        assert_clear(problems)
    else:
        assert isinstance(dm, DataMap)


@settings(max_examples=300, deadline=2000)  # ms: a shared CPU; bombs have their own test
@given(text=TEXT)
def test_arbitrary_text_parses_to_a_map_or_clear_problems(text: str) -> None:
    """Fuzz the YAML level: broken syntax, tabs, anchors, `${` — problems, never an exception."""
    check_text(text)


@settings(max_examples=300, deadline=2000)  # ms: a shared CPU; bombs have their own test
@given(data=PLAIN)
def test_arbitrary_structures_parse_to_a_map_or_clear_problems(data: object) -> None:
    """Fuzz the schema level with any YAML structure built from the map's own words."""
    check_text(yaml.safe_dump(data, allow_unicode=True))


@settings(max_examples=300, deadline=2000)  # ms: a shared CPU; bombs have their own test
@given(data=mutated_maps())
def test_a_valid_map_with_random_nodes_replaced_is_a_map_or_clear_problems(
    data: dict[str, Any],
) -> None:
    """Fuzz the semantic checks: a few nodes of a valid map replaced by anything."""
    check_text(yaml.safe_dump(data, allow_unicode=True))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=mutated_maps())
def test_load_map_raises_only_its_invalid_config_error(
    tmp_path: Path, data: dict[str, Any]
) -> None:
    """The file loader: a DataMap, or one ExitRightError (invalid_config) naming the place."""
    path = tmp_path / "map.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    try:
        assert isinstance(load_map(path, env={}), DataMap)
    except ExitRightError as exc:
        assert exc.code is ErrorCode.INVALID_CONFIG
        assert exc.params["place"]


def problem_ids(text: str) -> list[str]:
    """The message ids of the problems of a map text."""
    return [p.msgid for p in parse_map(text, {}, source="x.yaml")[1]]


def test_deep_nesting_and_aliases_and_impossible_dates_are_one_clear_problem() -> None:
    """A nesting bomb, a "billion laughs" of aliases, a 13th month: refused, not raised."""
    assert problem_ids("a: " + "[" * 5000 + "]" * 5000) == ["datamap.problem.yaml"]
    laughs = "a: &a [x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    assert problem_ids(laughs + "version: 1\n") == ["datamap.problem.aliases"]
    assert problem_ids("version: 1\nplatform: 2026-13-45\n") == ["datamap.problem.yaml"]
    for text in ("a: " + "{b: " * 300 + "1" + "}" * 300, "a: &a [x]\nb: [*a]\n"):
        assert_clear(parse_map(text, {}, source="x.yaml")[1])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.one_of(mutated_maps(), PLAIN), raw=st.booleans(), text=TEXT)
def test_the_validate_command_exits_2_with_one_line_per_problem_and_no_traceback(
    tmp_path: Path, data: object, raw: bool, text: str
) -> None:
    """``exitright datamap validate`` on a fuzzed file: exit 0 (valid) or 2, never a traceback."""
    path = tmp_path / "map.yaml"
    path.write_text(text if raw else yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["datamap", "validate", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output
    if result.exit_code == 0:
        assert "map is valid" in output
        return
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error:") and "problem(s)" in lines[-1]
    assert all(line.startswith("✗") for line in lines[:-1]), lines
