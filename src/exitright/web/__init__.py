"""The web edge: the FastAPI app, its JSON API under /v1 and the server-rendered pages."""

from exitright.web.app import create_app

__all__ = ["create_app"]
