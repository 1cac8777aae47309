"""Just enough HTML reading for the probe: links, forms (with their fields and labels), text.

Standard library only (:mod:`html.parser`). The probe reads pages the way a person does — what
the links say, what a form asks for — so the model keeps visible text and field labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

_SPACE = re.compile(r"\s+")
_SKIP = frozenset({"script", "style", "template"})


def squash(text: str) -> str:
    """Collapse whitespace."""
    return _SPACE.sub(" ", text).strip()


@dataclass
class Field:
    """One form field: its name, type, value and the label text around it."""

    name: str
    kind: str  # input type, "textarea" or "select"
    value: str = ""
    label: str = ""
    checkbox_value: str = ""

    @property
    def words(self) -> str:
        """Name, label and type together, lower-cased: what the probe matches against."""
        return f"{self.name} {self.label} {self.kind}".lower()


@dataclass
class Form:
    """A form: where it posts, its fields and its submit buttons' text."""

    action: str
    method: str
    fields: list[Field] = field(default_factory=list)
    buttons: list[str] = field(default_factory=list)
    text: str = ""

    @property
    def hidden(self) -> dict[str, str]:
        """Hidden fields (the CSRF token among them), sent back as they are."""
        return {f.name: f.value for f in self.fields if f.kind == "hidden" and f.name}

    def visible(self) -> list[Field]:
        """The fields a person fills in (not hidden, not buttons)."""
        return [
            f
            for f in self.fields
            if f.kind not in ("hidden", "submit", "button", "reset") and f.name
        ]


@dataclass
class Link:
    """A link: absolute URL and visible text."""

    url: str
    text: str


@dataclass
class Page:
    """A fetched page as the probe sees it."""

    url: str
    status: int
    text: str
    links: list[Link]
    forms: list[Form]
    attrs: dict[str, str]  # data-* attributes seen (first value of each), e.g. data-state
    rows: list[str]  # the text of each table body row

    def form_posting_to(self, fragment: str) -> Form | None:
        """The first form whose action contains ``fragment``."""
        return next((f for f in self.forms if fragment in f.action), None)


class _Reader(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.text: list[str] = []
        self.links: list[Link] = []
        self.forms: list[Form] = []
        self.attrs: dict[str, str] = {}
        self.rows: list[str] = []
        self._skip = 0
        self._link: tuple[str, list[str]] | None = None
        self._form: Form | None = None
        self._form_text: list[str] = []
        self._label: list[str] | None = None
        self._label_fields: list[Field] = []
        self._textarea: Field | None = None
        self._button: list[str] | None = None
        self._tbody = 0
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for k, v in a.items():
            if k.startswith("data-"):
                self.attrs.setdefault(k, v)
        if tag in _SKIP:
            self._skip += 1
        elif tag == "a" and "href" in a:
            self._link = (urljoin(self.base, a["href"]), [])
        elif tag == "form":
            action = urljoin(self.base, a.get("action") or self.base)
            self._form = Form(action, (a.get("method") or "get").lower())
            self._form_text = []
        elif tag == "label":
            self._label, self._label_fields = [], []
        elif tag in ("input", "select", "textarea") and self._form is not None:
            kind = (
                "textarea"
                if tag == "textarea"
                else tag
                if tag == "select"
                else a.get("type", "text")
            )
            f = Field(
                a.get("name", ""),
                kind.lower(),
                a.get("value", ""),
                label=" ".join(a.get(k, "") for k in ("placeholder", "aria-label", "accept")),
                checkbox_value=a.get("value", "on"),
            )
            if kind in ("submit", "button") and f.value:
                self._form.buttons.append(f.value)
            self._form.fields.append(f)
            if self._label is not None:
                self._label_fields.append(f)
            if tag == "textarea":
                self._textarea = f
        elif tag == "button":
            self._button = []
        elif tag == "tbody":
            self._tbody += 1
        elif tag == "tr" and self._tbody:
            self._row = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "a" and self._link is not None:
            url, words = self._link
            self.links.append(Link(url, squash(" ".join(words))))
            self._link = None
        elif tag == "form" and self._form is not None:
            self._form.text = squash(" ".join(self._form_text))
            self.forms.append(self._form)
            self._form = None
        elif tag == "label" and self._label is not None:
            text = squash(" ".join(self._label))
            for f in self._label_fields:
                f.label = squash(f"{text} {f.label}")
            self._label = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "button" and self._button is not None:
            if self._form is not None:
                self._form.buttons.append(squash(" ".join(self._button)))
            self._button = None
        elif tag == "tbody":
            self._tbody = max(0, self._tbody - 1)
        elif tag == "tr" and self._row is not None:
            self.rows.append(squash(" ".join(self._row)))
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._textarea is not None:
            self._textarea.value += data
            return
        self.text.append(data)
        for sink in (
            self._link[1] if self._link else None,
            self._label,
            self._button,
            self._row,
            self._form_text if self._form is not None else None,
        ):
            if sink is not None:
                sink.append(data)


def read_page(url: str, status: int, body: str) -> Page:
    """Parse ``body`` fetched from ``url``."""
    reader = _Reader(url)
    reader.feed(body)
    reader.close()
    return Page(
        url,
        status,
        squash(" ".join(reader.text)),
        reader.links,
        reader.forms,
        reader.attrs,
        reader.rows,
    )
