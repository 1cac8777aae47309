"""Every router of the app, in one visible table (order matters only for overlapping paths)."""

from __future__ import annotations

from fastapi import APIRouter

from exitright.admin.views import router as admin_router
from exitright.privacy import access as privacy_access
from exitright.privacy import correct as privacy_correct
from exitright.privacy import items as privacy_items
from exitright.privacy import routes as privacy
from exitright.web.routes import (
    certificates,
    health,
    metrics,
    pages,
    ssf,
    v1_identifiers,
    v1_meta,
    v1_requests,
    wellknown,
)

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    metrics.router,
    v1_meta.router,
    v1_requests.router,
    v1_identifiers.router,
    wellknown.router,
    ssf.router,
    pages.router,
    certificates.router,
    privacy.router,
    privacy_access.router,
    privacy_items.router,
    privacy_correct.router,
    admin_router,
)
