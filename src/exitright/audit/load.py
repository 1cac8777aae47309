"""Reading profiles from YAML: every way a file can be wrong becomes one ExitRightError that
names the file and the field — never a traceback.

This is the edge of the audit kit (it reads files and the holiday calendar); the core modules
(profile, rules, score) never do.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from exitright.audit.profile import Profile
from exitright.audit.study import StudyMeta
from exitright.audit.workdays import working_days_between
from exitright.errors import ErrorCode, ExitRightError
from exitright.yamlinput import has_shared_nodes

MAX_FILE_BYTES = 1_000_000
STUDY_FILE = "study.yaml"
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _error(message_id: str, path: Path, **params: object) -> ExitRightError:
    return ExitRightError(
        ErrorCode.INVALID_FILE,
        details={"file": str(path)},
        message_id=message_id,
        params={"file": str(path), **params},
    )


def field_path(loc: Iterable[int | str]) -> str:
    """``("cancellation", "channels", 0)`` → ``cancellation.channels[0]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_yaml(text: str, path: Path) -> object:
    """YAML text to plain data, or an ExitRightError naming the file and the line."""
    try:
        data: object = yaml.load(text, Loader=_Loader)  # noqa: S506 -- a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 0
        raise _error("audit.error.yaml", path, line=line, problem=exc.problem or "?") from None
    except (yaml.YAMLError, ValueError, OverflowError, RecursionError, TypeError) as exc:
        raise _error("audit.error.yaml", path, line=0, problem=type(exc).__name__) from None
    if has_shared_nodes(data):
        raise _error("audit.error.aliases", path)
    return data


def profile_from_data(data: object, path: Path) -> Profile:
    """Validate plain data as a profile, or an ExitRightError naming the file and the field."""
    if not isinstance(data, dict):
        raise _error("audit.error.not_mapping", path)
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise _error(
            "audit.error.invalid_field",
            path,
            field=field_path(first["loc"]),
            problem=first["msg"],
        ) from None
    except RecursionError:
        raise _error("audit.error.yaml", path, line=0, problem="nesting too deep") from None
    return with_working_days(profile)


def with_working_days(profile: Profile) -> Profile:
    """Fill ``timing.observed_working_days`` from the two dates when only the dates were given."""
    t = profile.timing
    if t is None or t.observed_working_days is not None or not (t.submitted_on and t.completed_on):
        return profile
    days, provisional = working_days_between(t.submitted_on, t.completed_on)
    timing = t.model_copy(
        update={"observed_working_days": days, "working_days_provisional": provisional}
    )
    return profile.model_copy(update={"timing": timing})


def read_text(path: Path) -> str:
    """A small UTF-8 file's text, or an ExitRightError saying why not."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise _error("audit.error.too_large", path, limit=MAX_FILE_BYTES)
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _error("audit.error.missing", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _error("audit.error.unreadable", path, problem=type(exc).__name__) from None


def load_profile(path: Path) -> Profile:
    """One profile from a YAML file."""
    return profile_from_data(parse_yaml(read_text(path), path), path)


def profile_files(directory: Path) -> list[Path]:
    """Every profile file under ``directory`` (``*.yaml``/``*.yml``, not ``study.yaml``), sorted."""
    if not directory.is_dir():
        raise _error("audit.error.not_a_directory", directory)
    files = [
        p
        for p in directory.rglob("*")
        if p.suffix in (".yaml", ".yml") and p.name != STUDY_FILE and p.is_file()
    ]
    return sorted(files)


def load_profiles(directory: Path) -> list[Profile]:
    """Every profile under ``directory``; at least one, or an error."""
    files = profile_files(directory)
    if not files:
        raise _error("audit.error.no_profiles", directory)
    return [load_profile(p) for p in files]


def load_study_meta(directory: Path) -> StudyMeta | None:
    """``study.yaml`` of a study directory, if there is one."""
    path = directory / STUDY_FILE
    if not path.is_file():
        return None
    data = parse_yaml(read_text(path), path)
    try:
        return StudyMeta.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise _error(
            "audit.error.invalid_field", path, field=field_path(first["loc"]), problem=first["msg"]
        ) from None
