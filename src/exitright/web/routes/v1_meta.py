"""``/v1`` endpoints that describe the API itself: version and the error codes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from exitright import __version__
from exitright.errors import HTTP_STATUS, ErrorCode
from exitright.i18n import LANGUAGES, both

router = APIRouter(prefix="/v1", tags=["meta"])


class Meta(BaseModel):
    """What this deployment speaks."""

    version: str
    languages: list[str]
    regime: str


class ErrorCodeDoc(BaseModel):
    """One stable error code."""

    code: str
    http_status: int
    message: dict[str, str]


@router.get("/meta", response_model=Meta)
def meta(request: Request) -> Meta:
    """Version, languages and the deadline regime of this deployment."""
    return Meta(
        version=__version__, languages=list(LANGUAGES), regime=request.app.state.settings.regime
    )


@router.get("/errors", response_model=list[ErrorCodeDoc])
def error_codes() -> list[ErrorCodeDoc]:
    """Every stable error code with its HTTP status and message in zh-CN and en."""
    return [
        ErrorCodeDoc(
            code=code.value, http_status=HTTP_STATUS[code], message=both(f"error.{code.value}")
        )
        for code in ErrorCode
    ]
