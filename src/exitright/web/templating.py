"""Jinja2 rendering for the pages: one base layout, messages from the catalogs, no inline script.

Templates of every domain are found by their folder name (``core/…``, ``demo/…``); each domain
keeps its own under ``<package>/templates/<domain>/`` and registers the package in
``TEMPLATE_PACKAGES``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from exitright import __version__
from exitright.i18n import LANGUAGES, gettext

# (package, folder) pairs searched in order; a domain with pages adds its own line.
TEMPLATE_PACKAGES: tuple[tuple[str, str], ...] = (
    ("exitright.web", "templates"),
    ("exitright.demo", "templates"),
    ("exitright.privacy", "templates"),
    ("exitright.admin", "templates"),
)


@cache
def environment() -> Environment:
    """The shared Jinja2 environment (autoescaping on)."""
    loaders = []
    for package, folder in TEMPLATE_PACKAGES:
        try:
            loaders.append(PackageLoader(package, folder))
        except (ValueError, ModuleNotFoundError):
            continue  # a domain without templates yet
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def language(request: Request) -> str:
    """The visitor's language, decided by the language middleware."""
    return str(getattr(request.state, "lang", "zh-CN"))


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``template`` with the catalog's ``_`` for the visitor's language."""
    lang = language(request)

    def translate(key: str, **params: object) -> str:
        return gettext(lang, key, **params)

    def lang_url(target: str) -> str:
        return str(request.url.include_query_params(lang=target))

    ctx: dict[str, Any] = {
        "request": request,
        "_": translate,
        "lang": lang,
        "languages": LANGUAGES,
        "lang_url": lang_url,
        "version": __version__,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "settings": request.app.state.settings,
    }
    ctx.update(context or {})
    html = environment().get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code, headers=headers)
