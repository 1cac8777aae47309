"""The privacy centre: the pages where a person exercises their rights and follows the request.

``routes.router`` (cancel, the shared one-time-code flow, status) and ``access.router``
("Download my data") are registered in :mod:`exitright.web.routes`; ``consequences`` turns the
data map into what the cancellation page shows; ``status`` turns a request into its status
page; ``export`` builds the access export, ``archives`` keeps it encrypted until it expires, and
``executors`` carries out the kinds besides cancellation. See docs/privacy-centre.md.
"""

from __future__ import annotations

from exitright.privacy.consequences import Consequences, consequences
from exitright.privacy.status import StatusView, status_view

__all__ = ["Consequences", "StatusView", "consequences", "status_view"]
