"""The live probe: a black-box test of a running platform's cancellation, over HTTP.

- ``html``: reading pages (links, forms and their labels, table rows, ``data-*`` attributes);
- ``client``: a browser-like client (cookies, forms with their CSRF tokens, a request budget);
- ``codes``: where the one-time codes come from (a developer page or inbox URL, or an SMS hook);
- ``flows``: the words the probe looks for, sign-in with a code, the click-counting crawl;
- ``probe``: the run (sign in, data, entry, cancel, wait, after-checks, recycled number) and the
  profile it writes — only what was observed.
"""

from __future__ import annotations

from exitright.audit.probe.codes import AnyOf, CodeSource, CommandCodes, PageCodes
from exitright.audit.probe.probe import (
    Observations,
    ProbeConfig,
    ProbeResult,
    build_profile,
    run_probe,
)

__all__ = [
    "AnyOf",
    "CodeSource",
    "CommandCodes",
    "Observations",
    "PageCodes",
    "ProbeConfig",
    "ProbeResult",
    "build_profile",
    "run_probe",
]
