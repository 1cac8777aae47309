"""Every router of the app, in one visible table (order matters only for overlapping paths)."""

from __future__ import annotations

from fastapi import APIRouter

from exitright.web.routes import health, pages, v1_meta

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    v1_meta.router,
    pages.router,
)
