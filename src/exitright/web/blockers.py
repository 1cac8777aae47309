"""How a blocked request shows its blockers: on the status page, in the API, in the console.

One place turns the ids a request is blocked by into what each reader needs: the declared
check (its resolution kind and link, from the deployment's pre-checks) and its texts, the
catalog keys ``requests.precheck.<id>.explanation`` and ``.resolution`` in zh-CN and en.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from exitright import bootstrap
from exitright.cancellation.model import Request, State
from exitright.cancellation.precheck_run import blockers_of
from exitright.cancellation.prechecks import PreCheck
from exitright.i18n import both

__all__ = ["BlockerOut", "blockers", "blockers_out", "link_of"]


class BlockerOut(BaseModel):
    """A pre-check that holds the request: why, what resolves it, and where."""

    id: str = Field(examples=["open_orders"])
    resolution_kind: str = Field(
        description="link, refund_to_original_method, wait or self_service_unlock"
    )
    explanation: dict[str, str] = Field(description="why the request waits, in zh-CN and en")
    resolution: dict[str, str] = Field(description="how it is resolved, in zh-CN and en")
    link: str | None = Field(None, description="where the user resolves it (absolute URL)")


def blockers(rt: bootstrap.Runtime, request: Request) -> list[PreCheck]:
    """The declarations of what blocks ``request`` now (empty unless it is blocked)."""
    if request.state is not State.BLOCKED:
        return []
    declared = rt.ports.prechecks.checks if rt.ports.prechecks is not None else ()
    return blockers_of(request.blockers, declared)


def link_of(check: PreCheck, base_url: str) -> str | None:
    """The check's link as an absolute URL (a path is on this deployment)."""
    if check.link is None:
        return None
    return base_url.rstrip("/") + check.link if check.link.startswith("/") else check.link


def blockers_out(rt: bootstrap.Runtime, request: Request) -> list[BlockerOut]:
    """The API's view of what blocks ``request``."""
    return [
        BlockerOut(
            id=c.id,
            resolution_kind=c.resolution.value,
            explanation=both(c.explanation_key),
            resolution=both(c.resolution_key),
            link=link_of(c, rt.settings.public_url),
        )
        for c in blockers(rt, request)
    ]
