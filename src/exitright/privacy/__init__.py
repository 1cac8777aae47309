"""The privacy centre: the pages where a person cancels their account and follows the request.

``routes.router`` is registered in :mod:`exitright.web.routes`; ``consequences`` turns the data
map into what the cancellation page shows; ``status`` turns a request into its status page;
``export`` builds the access export (not on a page yet: the workflow carries out only
cancellations). See docs/privacy-centre.md.
"""

from __future__ import annotations

from exitright.privacy.consequences import Consequences, consequences
from exitright.privacy.status import StatusView, status_view

__all__ = ["Consequences", "StatusView", "consequences", "status_view"]
