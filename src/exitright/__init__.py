"""ExitRight: make leaving a platform as easy as joining it, and prove it.

The public library API is listed in ``__all__``; everything else is internal.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "create_app"]


def __getattr__(name: str) -> object:
    # The web app pulls in FastAPI; import it only when asked for, so that the CLI and the
    # pure core stay light.
    if name == "create_app":
        from exitright.web.app import create_app

        return create_app
    raise AttributeError(name)
