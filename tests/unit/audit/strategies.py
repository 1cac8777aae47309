"""Hypothesis strategies for audit profiles (kept apart from tests/strategies.py to avoid clashes).

The generator reads the profile model itself, so a new observation field is covered without
touching this file.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from enum import Enum
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from exitright.audit.profile import FINDINGS, Evidence, Profile, Regime

EVIDENCE = st.builds(
    lambda text, third_party: Evidence(kind="note", text=text, third_party=third_party),
    st.text(min_size=1, max_size=20).filter(str.strip),
    st.booleans(),
)


def _strategy(annotation: Any) -> st.SearchStrategy[Any]:
    """A strategy for one field's type: optional scalars, enums, dates and lists of enums."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return st.none() | _strategy(inner[0])
    if origin is typing.Annotated:
        return _strategy(args[0])
    if origin is list:
        return st.lists(_strategy(args[0]), max_size=4)
    if origin is typing.Literal:
        return st.sampled_from(args)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return st.sampled_from(list(annotation))
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.integers(min_value=0, max_value=60)
    if annotation is float:
        return st.floats(min_value=0, max_value=10, allow_nan=False)
    if annotation is str:
        return st.text(min_size=1, max_size=12).filter(str.strip)
    if annotation is dt.date:
        return st.dates(min_value=dt.date(2018, 1, 1), max_value=dt.date(2028, 12, 31))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_data(annotation)
    raise NotImplementedError(annotation)


def model_data(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """Plain data for ``model``: every field present or absent, evidence always supplied."""
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in model.model_fields.items():
        if name == "evidence":
            fields[name] = st.lists(EVIDENCE, min_size=1, max_size=2)
        else:
            fields[name] = _strategy(info.annotation)
    return st.fixed_dictionaries(fields)


def _finding_models() -> dict[str, type[BaseModel]]:
    out: dict[str, type[BaseModel]] = {}
    for name in FINDINGS:
        annotation = Profile.model_fields[name].annotation
        model = next(a for a in typing.get_args(annotation) if a is not type(None))
        out[name] = model
    return out


def _validated(data: dict[str, Any]) -> Profile | None:
    try:
        return Profile.model_validate(data)
    except ValidationError:
        return None  # a contradiction the model refuses (e.g. page: false with a page channel)


@st.composite
def profiles(draw: st.DrawFn) -> Profile:
    """Any valid profile: each finding absent or filled at random, any regimes in scope."""
    data: dict[str, Any] = {
        "platform": {"name": draw(st.text(min_size=1, max_size=12).filter(str.strip))},
        "sector": draw(st.none() | st.sampled_from(["retail", "fintech", "life_services"])),
        "evaluation": {"scope": draw(st.lists(st.sampled_from(list(Regime)), unique=True))},
    }
    for name, model in _finding_models().items():
        value = draw(st.none() | model_data(model))
        if value is not None:
            data[name] = value
    profile = _validated(data)
    if profile is None:
        # Drop the finding that contradicts itself rather than discarding the whole example.
        for name in FINDINGS:
            if name in data and _validated({**data, name: None}) is not None:
                data[name] = None
                break
        profile = _validated({k: v for k, v in data.items() if v is not None})
    if profile is None:
        profile = Profile.model_validate({"platform": data["platform"]})
    return profile
