"""Desk-review profiles from the JustDeleteMe directory (jdm-contrib/jdm, MIT licence).

Each site's ``difficulty`` and ``notes`` become third-party-label evidence for the findings they
speak to; everything else stays absent, so the rules say *not assessed*:

- ``easy`` / ``medium`` with no sign of a human channel → a self-service web page;
- ``hard`` → no self-service page; the channel is what the notes or the ``email`` field name
  (e-mail, phone, chat, a form or "customer service"), else unknown;
- ``impossible`` → the account cannot be cancelled;
- ``limited`` → a residency-or-proof precondition;
- a path in the notes ("Profile ⮕ settings ⮕ delete account ⮕ confirm") → steps, and taps up to
  the segment naming the deletion entry.

The labels are weak evidence (one contributor, undated, mixing mechanism and jurisdiction); every
profile says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from exitright.audit.profile import Channel, Profile
from exitright.audit.study import StudyMeta
from exitright.errors import ErrorCode, ExitRightError

SOURCE = "JustDeleteMe directory (jdm-contrib/jdm, _data/sites.json, MIT licence)"
NOTICE = """\
Data: JustDeleteMe directory, https://github.com/jdm-contrib/jdm (_data/sites.json).
The MIT License (MIT)

Copyright (c) 2013-2020 Robb Lewis, The JDM Contrib Team, & various contributors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""
DIFFICULTIES = ("easy", "medium", "hard", "impossible", "limited")
ARROWS = re.compile(r"\s*(?:⮕|➔|➜|→|->|=>|»|›|>)\s*")
ENTRY = re.compile(r"delet|clos|remov|cancel|deactivat|terminat|erase", re.IGNORECASE)
HUMAN = {
    Channel.EMAIL: re.compile(r"e-?mail", re.IGNORECASE),
    Channel.PHONE: re.compile(r"\b(?:phone|call|telephone)\b", re.IGNORECASE),
    Channel.CUSTOMER_SERVICE_CHAT: re.compile(r"\b(?:chat|live support)\b", re.IGNORECASE),
    Channel.OFFLINE: re.compile(r"\b(?:letter|post|mail to|in person|fax)\b", re.IGNORECASE),
    Channel.CUSTOMER_SERVICE: re.compile(
        r"\b(?:contact|support|customer (?:service|care)|form|ticket|request)\b", re.IGNORECASE
    ),
}
APP = re.compile(r"\bapp\b", re.IGNORECASE)


def _error(path: Path, problem: str) -> ExitRightError:
    return ExitRightError(
        ErrorCode.INVALID_FILE,
        details={"file": str(path)},
        message_id="audit.error.jdm_format",
        params={"file": str(path), "problem": problem},
    )


def path_segments(notes: str | None) -> list[str]:
    """The steps of a notes path ("A ⮕ B ⮕ C"), or [] when the notes are not a path."""
    if not notes:
        return []
    parts = [p.strip(" .'\"") for p in ARROWS.split(notes)]
    parts = [p for p in parts if p]
    return parts if len(parts) > 1 else []


def human_channels(site: dict[str, Any]) -> list[Channel]:
    """Human-handled channels the notes or the ``email`` field name."""
    notes = str(site.get("notes") or "")
    found = [ch for ch, pattern in HUMAN.items() if pattern.search(notes)]
    if site.get("email") and Channel.EMAIL not in found:
        found.insert(0, Channel.EMAIL)
    if Channel.CUSTOMER_SERVICE in found and len(found) > 1:
        found.remove(Channel.CUSTOMER_SERVICE)  # a named channel says more than "contact"
    return found


def site_profile(site: dict[str, Any]) -> dict[str, Any]:
    """One site as profile data (validated by the caller)."""
    name, difficulty = str(site["name"]), str(site["difficulty"])
    notes = site.get("notes")
    ref = f"{site.get('url', '')}"
    evidence: list[dict[str, Any]] = [
        {
            "kind": "label",
            "text": f"difficulty: {difficulty}",
            "ref": ref or None,
            "source": SOURCE,
            "third_party": True,
        },
    ]
    if notes:
        evidence.append(
            {"kind": "label", "text": str(notes), "source": SOURCE, "third_party": True}
        )
    cancellation: dict[str, Any] = {"evidence": evidence}
    from_notes = human_channels({"notes": notes})
    humans = human_channels(site)
    segments = path_segments(notes)
    if difficulty == "impossible":
        cancellation["available"] = False
    elif difficulty == "easy" or (difficulty == "medium" and not from_notes):
        # A button exists; any human channel named is an alternative, not the only way.
        channels = [Channel.WEB_PAGE, *humans]
        if notes and APP.search(str(notes)):
            channels.insert(0, Channel.IN_APP_PAGE)
        cancellation["channels"] = channels
    elif difficulty in ("hard", "medium"):
        cancellation["page"] = False
        if humans:
            cancellation["channels"] = humans
    elif humans:  # limited
        cancellation["channels"] = humans
    if segments and difficulty != "impossible":
        cancellation["steps"] = len(segments)
        entry = next((i for i, s in enumerate(segments) if ENTRY.search(s)), None)
        if entry is not None:
            cancellation["taps"] = entry + 1
            cancellation["label"] = segments[entry][:200]
    data: dict[str, Any] = {
        "platform": {"name": name, "url": site.get("url"), "identification": "certain"},
        "evaluation": {
            "evaluator": "JustDeleteMe contributors",
            "method": "third_party_label",
            "source": SOURCE,
            "labels": {"jdm.difficulty": difficulty},
        },
        "cancellation": cancellation,
    }
    if difficulty == "limited":
        data["preconditions"] = {
            "items": [
                {
                    "kind": "residency_or_proof",
                    "text": "JustDeleteMe 'limited': deletion only where privacy law "
                    "applies, or with proof",
                }
            ],
            "evidence": evidence,
        }
    return data


def read_sites(path: Path) -> list[dict[str, Any]]:
    """The sites of a JustDeleteMe ``sites.json``, or an ExitRightError saying what is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _error(path, "file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _error(path, type(exc).__name__) from None
    if not isinstance(data, list):
        raise _error(path, "expected a JSON list of sites")
    for i, site in enumerate(data):
        if not isinstance(site, dict) or not isinstance(site.get("name"), str):
            raise _error(path, f"site [{i}] has no name")
        if site.get("difficulty") not in DIFFICULTIES:
            raise _error(path, f"site [{i}] ({site['name']}) has an unknown difficulty")
    return data


def jdm_profiles(path: Path) -> list[Profile]:
    """Every site of ``sites.json`` as a desk-review profile built from third-party labels."""
    profiles = []
    for i, site in enumerate(read_sites(path)):
        try:
            profiles.append(Profile.model_validate(site_profile(site)))
        except ValidationError as exc:
            raise _error(path, f"site [{i}] ({site['name']}): {exc.errors()[0]['msg']}") from None
    return profiles


def jdm_meta() -> StudyMeta:
    """The study's title, source and licence notice."""
    return StudyMeta(
        title="JustDeleteMe directory as desk-review profiles",
        title_zh="JustDeleteMe 目录（第三方标签）桌面评估",
        source=SOURCE,
        notice=NOTICE,
    )


def slug(name: str) -> str:
    """A file-name-safe form of a site name."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._").lower()
    return s or "site"


def export(profiles: Sequence[Profile], out_dir: Path) -> int:
    """Write each profile as YAML under ``out_dir``, with the licence notice and ``study.yaml``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    used: set[str] = set()
    for profile in profiles:
        base = name = slug(profile.platform.name)
        n = 1
        while name in used:
            n += 1
            name = f"{base}-{n}"
        used.add(name)
        data = profile.model_dump(mode="json", exclude_none=True)
        text = yaml.dump(data, Dumper=dumper, allow_unicode=True, sort_keys=False)
        (out_dir / f"{name}.yaml").write_text(text, encoding="utf-8")
    (out_dir / "LICENSE-JustDeleteMe.txt").write_text(NOTICE, encoding="utf-8")
    meta = jdm_meta().model_dump(mode="json", exclude_none=True)
    (out_dir / "study.yaml").write_text(
        yaml.dump(meta, Dumper=dumper, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return len(profiles)
