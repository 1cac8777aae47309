"""Fixtures of the fuzz tests: a seeded demo platform behind the live API."""

from __future__ import annotations

from tests.integration.observability.conftest import demo_api, demo_settings

__all__ = ["demo_api", "demo_settings"]
