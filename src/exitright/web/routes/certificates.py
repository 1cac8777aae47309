"""The public page that checks a deletion certificate and explains the result in plain words."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse

from exitright.ledger import certificates, service, signing
from exitright.web.middleware import require_csrf
from exitright.web.templating import render

router = APIRouter(prefix="/certificates", include_in_schema=False)

MAX_CERTIFICATE_BYTES = 64 * 1024


@router.get("/verify", response_class=HTMLResponse)
def verify_form(request: Request) -> HTMLResponse:
    """The form: paste the certificate or upload its file."""
    return render(request, "core/certificate_verify.html", {"result": None})


@router.post("/verify", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
async def verify_submit(
    request: Request,
    token: str = Form(""),
    file: UploadFile | None = None,
) -> HTMLResponse:
    """Check the pasted or uploaded certificate against our published keys and our ledger."""
    text = token.strip()
    if file is not None and file.filename:
        raw = await file.read(MAX_CERTIFICATE_BYTES + 1)
        text = raw[:MAX_CERTIFICATE_BYTES].decode("utf-8", errors="replace").strip() or text
    result: dict[str, Any]
    if not text:
        result = {"ok": False, "reason_key": "cert.result.empty"}
    else:
        engine = request.app.state.engine
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            check = certificates.verify(text, signing.key_set(signing.jwks(conn)))
            in_ledger = False
            if check.ok and check.claims is not None:
                cited = service.for_request(conn, str(check.claims.get("jti", "")))
                in_ledger = any(e.hash == check.claims.get("ledger_entry") for e in cited)
        result = {
            "ok": check.ok,
            "reason": check.reason,
            "reason_key": "cert.result.valid" if check.ok else "cert.result.invalid",
            "claims": check.claims or {},
            "kid": check.kid,
            "in_ledger": in_ledger,
        }
    return render(request, "core/certificate_verify.html", {"result": result})
