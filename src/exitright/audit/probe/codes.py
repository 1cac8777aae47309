"""Where the probe reads the one-time codes a platform sends to the test phone.

A real test phone's texts come through an *SMS inbox hook* (a command that prints the latest
text or code for a number, e.g. reading a USB modem or an SMS-forwarding service); a test
platform shows its codes on a *developer page* (a URL: HTML with one table row per text, or
JSON). Either way the probe takes a snapshot before it asks for a code and waits — bounded —
for a code that was not there before, so an old code is never reused.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from exitright.audit.probe.client import Browser
from exitright.audit.probe.html import read_page

_CODE = re.compile(r"(?<![\d*])(\d{4,8})(?!\d)")
_NOISE = re.compile(
    r"\d{1,4}[-:/]\d{1,2}[-:/]\d{1,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?|\d{1,2}:\d{2}"
)


def masked(phone: str) -> str:
    """``138****5678``: how platforms show a mainland mobile number."""
    return f"{phone[:3]}****{phone[-4:]}"


def _codes_in(text: str, phone: str) -> list[str]:
    """The codes in one line of text that names ``phone`` (in full or masked)."""
    if phone not in text and masked(phone) not in text:
        return []
    text = text.replace(phone, " ").replace(masked(phone), " ")
    return _CODE.findall(_NOISE.sub(" ", text))


class CodeSource(Protocol):
    """Something that can tell the probe which codes the test phone received."""

    def codes(self, phone: str) -> list[str]:
        """Every code received for ``phone`` that the source still shows, newest first."""
        ...


class PageCodes:
    """Developer pages or inbox URLs (HTML table rows, or JSON) listing the texts sent."""

    def __init__(self, browser: Browser, urls: Sequence[str]) -> None:
        self.browser = browser
        self.urls = list(urls)

    def codes(self, phone: str) -> list[str]:
        """The codes for ``phone`` on every page, in page order (newest first on both demos)."""
        found: list[str] = []
        for url in self.urls:
            r = self.browser.raw(url)
            if r.status_code != 200:
                continue
            if "json" in r.headers.get("content-type", ""):
                found += _json_codes(r.json(), phone)
                continue
            for row in read_page(str(r.url), r.status_code, r.text).rows:
                found += _codes_in(row, phone)
        return found


def _json_codes(data: Any, phone: str) -> list[str]:
    """Codes in a JSON inbox: any object naming the phone with a ``code`` or a ``text``."""
    out: list[str] = []
    if isinstance(data, list):
        for item in data:
            out += _json_codes(item, phone)
    elif isinstance(data, dict):
        line = json.dumps(data, ensure_ascii=False)
        if "code" in data and (phone in line or masked(phone) in line):
            out.append(str(data["code"]))
        elif phone in line or masked(phone) in line:
            out += _codes_in(line, phone)
        else:
            for value in data.values():
                if isinstance(value, (list, dict)):
                    out += _json_codes(value, phone)
    return out


class CommandCodes:
    """An SMS inbox hook: a command printing the texts received; the phone is in its environment.

    The command gets ``EXITRIGHT_PROBE_PHONE`` and prints one text (or code) per line, newest
    first. It runs without a shell (split like a shell line), for at most 10 seconds.
    """

    def __init__(self, command: str) -> None:
        self.argv = shlex.split(command)

    def codes(self, phone: str) -> list[str]:
        """The codes the hook reports."""
        env = {**os.environ, "EXITRIGHT_PROBE_PHONE": phone}
        done = subprocess.run(  # noqa: S603 -- the evaluator's own hook, no shell
            self.argv, capture_output=True, text=True, timeout=10, env=env, check=False
        )
        return [
            c for line in done.stdout.splitlines() for c in _CODE.findall(_NOISE.sub(" ", line))
        ]


def wait_for_new_code(
    source: CodeSource,
    phone: str,
    before: list[str],
    *,
    timeout: float,
    poll: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """The first code for ``phone`` not in the snapshot ``before``, or None after ``timeout``."""
    deadline = time.monotonic() + timeout
    seen = Counter(before)
    while True:
        now = source.codes(phone)
        left = Counter(now) - seen
        for code in now:
            if left[code]:
                return code
        if time.monotonic() >= deadline:
            return None
        sleep(poll)


class AnyOf:
    """Several code sources read as one (e.g. a shop's sign-in texts and its privacy centre's)."""

    def __init__(self, sources: Sequence[CodeSource]) -> None:
        self.sources = list(sources)

    def codes(self, phone: str) -> list[str]:
        """The codes of every source, source by source."""
        return [c for s in self.sources for c in s.codes(phone)]
