"""Reading a data map from YAML: ``${ENV}`` expansion, schema, then the semantic checks."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from exitright.datamap.model import DataMap, expand_env
from exitright.datamap.validate import Problem, from_validation_error, validate
from exitright.errors import ErrorCode, ExitRightError
from exitright.yamlinput import has_shared_nodes


def problem_error(problems: list[Problem]) -> ExitRightError:
    """An error reporting the first problem (with its place) and how many there are."""
    first = problems[0]
    return ExitRightError(
        ErrorCode.INVALID_CONFIG,
        details={"problems": len(problems)},
        message_id=first.msgid,
        params={**first.params, "place": first.place},
    )


def parse_map(
    text: str, env: Mapping[str, str], source: str = "map"
) -> tuple[DataMap | None, list[Problem]]:
    """Parse YAML text into a map; returns the map (if it parsed) and every problem found."""
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        return None, [Problem(f"{source}:{line}", "datamap.problem.yaml", {"line": line})]
    except (ValueError, OverflowError, TypeError, RecursionError):
        # A scalar YAML cannot construct (a date like 2026-13-45), or nesting too deep to read.
        return None, [Problem(source, "datamap.problem.yaml", {"line": 0})]
    if not isinstance(raw, dict):
        return None, [Problem(source, "datamap.problem.not_mapping", {})]
    if has_shared_nodes(raw):
        return None, [Problem(source, "datamap.problem.aliases", {})]
    try:
        expanded = expand_env(raw, env)
    except KeyError as exc:
        place, _, name = str(exc.args[0]).partition(": ")
        return None, [Problem(place, "datamap.problem.env_unset", {"name": name})]
    except RecursionError:
        return None, [Problem(source, "datamap.problem.too_deep", {})]
    try:
        dm = DataMap.model_validate(expanded)
    except ValidationError as exc:
        return None, from_validation_error(exc)
    except RecursionError:
        return None, [Problem(source, "datamap.problem.too_deep", {})]
    return dm, validate(dm)


def load_map(path: str | Path, env: Mapping[str, str] | None = None) -> DataMap:
    """Load and validate a map file, or raise :class:`ExitRightError` naming the first problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ExitRightError(
            ErrorCode.INVALID_FILE,
            message_id="datamap.unreadable",
            params={"path": str(p), "reason": exc.strerror or ""},
        ) from exc
    dm, problems = parse_map(text, os.environ if env is None else env, source=p.name)
    if problems or dm is None:
        raise problem_error(problems)
    return dm


def json_schema() -> str:
    """The JSON Schema of the data map format, as published by ``exitright datamap schema``."""
    schema = DataMap.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://exitright.example/schemas/datamap-v1.json"
    return json.dumps(schema, ensure_ascii=False, indent=2)
