"""A browser-like HTTP client for the probe: keeps cookies, follows links, fills forms.

Every page it fetches is parsed (:mod:`exitright.audit.probe.html`); forms are submitted with
their hidden fields (the CSRF token among them) sent back unchanged. Requests are bounded: a
timeout per request and a budget of requests per probe, so a probe always ends.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import httpx

from exitright.audit.probe.html import Form, Page, read_page

MAX_REQUESTS = 400


class ProbeBudgetError(RuntimeError):
    """The probe used up its request budget (a platform that loops or never answers)."""


class Browser:
    """One person's browser on the platform: a cookie jar and the pages it saw."""

    def __init__(
        self,
        base_url: str,
        *,
        lang: str = "zh-CN",
        timeout: float = 10.0,
        budget: list[int] | None = None,
    ) -> None:
        self.base_url = base_url
        parts = urlsplit(base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.client = httpx.Client(
            follow_redirects=True,
            timeout=timeout,
            headers={"Accept-Language": lang, "User-Agent": "exitright-audit-probe"},
        )
        # Shared between the browsers of one probe, so the whole probe is bounded.
        self.budget = budget if budget is not None else [MAX_REQUESTS]

    def close(self) -> None:
        """Drop the connection pool and the cookies."""
        self.client.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def absolute(self, url: str) -> str:
        """``url`` resolved against the base URL."""
        return urljoin(self.base_url, url)

    def same_origin(self, url: str) -> bool:
        """Whether ``url`` is on the platform (the probe never leaves it)."""
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" == self.origin

    def _spend(self) -> None:
        if self.budget[0] <= 0:
            raise ProbeBudgetError("request budget used up")
        self.budget[0] -= 1

    def get(self, url: str) -> Page:
        """Fetch and parse a page (redirects followed)."""
        self._spend()
        r = self.client.get(self.absolute(url))
        return read_page(str(r.url), r.status_code, r.text)

    def raw(self, url: str) -> httpx.Response:
        """Fetch a resource as it is (a certificate file, a JSON document)."""
        self._spend()
        return self.client.get(self.absolute(url))

    def submit(
        self,
        form: Form,
        values: dict[str, str],
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Page:
        """Submit ``form`` with its hidden fields plus ``values`` (and ``files``, if any)."""
        self._spend()
        data = {**form.hidden, **values}
        if form.method == "get":
            r = self.client.get(form.action, params=data)
        else:
            r = self.client.post(form.action, data=data, files=files or None)
        return read_page(str(r.url), r.status_code, r.text)

    def post_json(self, url: str, body: dict[str, str], token: str) -> httpx.Response:
        """POST JSON to an API with a bearer token."""
        self._spend()
        return self.client.post(
            self.absolute(url), json=body, headers={"Authorization": f"Bearer {token}"}
        )
