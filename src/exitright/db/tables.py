"""The engine's tables. Import this module to register every table on ``Base.metadata``."""

from __future__ import annotations

from exitright.db.base import Base

__all__ = ["Base"]
