"""Delivering codes over real loopback: the HTTP SMS gateway, SMTP, and the console provider."""

from __future__ import annotations

import base64
import json
import logging
import socketserver
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from exitright.config import Settings
from exitright.errors import ErrorCode, ExitRightError
from exitright.identity.identifiers import parse_identifier
from exitright.identity.otp import Channel
from exitright.identity.providers import (
    ConsoleProvider,
    DeliveryError,
    HttpSmsProvider,
    OutgoingCode,
    SmtpProvider,
    SmtpSettings,
    providers_from_settings,
)

from .conftest import serve

PHONE = parse_identifier("phone", "13812345678")
EMAIL = parse_identifier("email", "ann@example.cn")


def gateway_app(seen: list[dict[str, Any]]) -> FastAPI:
    """An SMS gateway that accepts with 200, or refuses numbers ending in 0000 with 503."""
    app = FastAPI()

    @app.post("/sms")
    async def sms(request: Request) -> JSONResponse:
        raw = await request.body()
        seen.append({"body": raw.decode(), "headers": dict(request.headers)})
        if json.loads(raw)["to"].endswith("0000"):
            return JSONResponse({"error": "busy"}, status_code=503)
        return JSONResponse({"id": "m-1"})

    return app


@pytest.fixture
def gateway() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The gateway's URL and what it received."""
    seen: list[dict[str, Any]] = []
    with serve(gateway_app(seen)) as url:
        yield url + "/sms", seen


def test_the_gateway_gets_the_template_body_and_the_auth_header(
    gateway: tuple[str, list[dict[str, Any]]],
) -> None:
    """$phone, $code and $text are filled JSON-escaped; the credential goes in its header."""
    url, seen = gateway
    provider = HttpSmsProvider(
        url,
        template='{"to": "$national", "code": "$code", "text": "$text"}',
        auth_header=("X-Api-Key", "secret-key"),
    )
    provider.send(OutgoingCode(PHONE, "012345", 5, "zh-CN"))
    body = json.loads(seen[0]["body"])
    assert body["to"] == "13812345678" and body["code"] == "012345"
    assert "012345" in body["text"] and "5 分钟" in body["text"]
    assert seen[0]["headers"]["x-api-key"] == "secret-key"


def test_a_refusing_gateway_is_a_delivery_error_without_the_number_or_code(
    gateway: tuple[str, list[dict[str, Any]]],
) -> None:
    """503 becomes DeliveryError whose text carries the status only."""
    url, _ = gateway
    with pytest.raises(DeliveryError) as exc:
        HttpSmsProvider(url).send(
            OutgoingCode(parse_identifier("phone", "13900000000"), "999999", 5)
        )
    assert "503" in str(exc.value)
    assert "13900000000" not in str(exc.value) and "999999" not in str(exc.value)


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT) to receive one message."""

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        server: Any = self.server
        self._say("220 loopback ESMTP")
        while True:
            line = self.rfile.readline().decode().strip()
            verb = line.split(" ")[0].upper()
            if verb == "EHLO":
                self._say("250-loopback")
                self._say("250 AUTH PLAIN")
            elif verb == "AUTH":
                server.auth = base64.b64decode(line.split(" ")[2]).split(b"\0")[1:]
                self._say("235 ok")
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self._say("250 ok")
            elif verb == "DATA":
                self._say("354 go on")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    data += self.rfile.readline()
                server.messages.append(message_from_bytes(data[:-5]))
                self._say("250 queued")
            elif verb == "QUIT" or not line:
                self._say("221 bye")
                return
            else:
                self._say("502 no")


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    """A loopback SMTP server in a thread; ``.messages`` holds what it received."""
    server: Any = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.daemon_threads = True
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_smtp_delivers_the_code_with_login(smtp_server: Any) -> None:
    """One e-mail with the code in the body, after AUTH with the configured login."""
    port = smtp_server.server_address[1]
    provider = SmtpProvider(
        SmtpSettings(
            host="127.0.0.1", port=port, sender="noreply@shop.example", tls="none",
            username="mailer", password="pw",
        )
    )  # fmt: skip
    provider.send(OutgoingCode(EMAIL, "424242", 5, "en"))
    mail: Message = smtp_server.messages[0]
    assert mail["To"] == "ann@example.cn" and mail["From"] == "noreply@shop.example"
    assert mail["Subject"] == "Your verification code"
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes) and "424242" in payload.decode()
    assert smtp_server.auth == [b"mailer", b"pw"]


def test_an_unreachable_smtp_server_is_a_delivery_error() -> None:
    """Nothing listening: DeliveryError, not a socket traceback."""
    from tests.conftest import free_port

    provider = SmtpProvider(
        SmtpSettings(host="127.0.0.1", port=free_port(), sender="a@b.cn", tls="none", timeout=2)
    )
    with pytest.raises(DeliveryError):
        provider.send(OutgoingCode(EMAIL, "424242", 5))


def test_the_console_provider_logs_a_masked_number_and_keeps_recent_codes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """138****5678 and the code, never the full number; newest first."""
    console = ConsoleProvider(keep=2)
    with caplog.at_level(logging.INFO, logger="exitright.identity.delivery"):
        for code in ("111111", "222222", "333333"):
            console.send(OutgoingCode(PHONE, code, 5))
    assert "13812345678" not in caplog.text
    assert "138****5678" in caplog.text and "333333" in caplog.text
    assert [s.code for s in console.recent()] == ["333333", "222222"]
    assert all(s.to == "138****5678" and s.channel is Channel.SMS for s in console.recent())


def test_settings_choose_the_providers(settings: Settings) -> None:
    """Console by default; the gateway and SMTP when configured; production refuses the console."""
    default = providers_from_settings(settings)
    assert isinstance(default[Channel.SMS], ConsoleProvider)
    assert default[Channel.SMS] is default[Channel.EMAIL]
    configured = settings.model_copy(
        update={
            "sms_provider": "http",
            "sms_gateway_url": "http://127.0.0.1:9/sms",
            "email_provider": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_from": "noreply@shop.example",
        }
    )
    chosen = providers_from_settings(configured)
    assert isinstance(chosen[Channel.SMS], HttpSmsProvider)
    assert isinstance(chosen[Channel.EMAIL], SmtpProvider)
    with pytest.raises(ExitRightError) as exc:
        providers_from_settings(settings.model_copy(update={"environment": "production"}))
    assert exc.value.code is ErrorCode.INVALID_CONFIG
    missing = settings.model_copy(update={"sms_provider": "http"})
    with pytest.raises(ExitRightError) as exc:
        providers_from_settings(missing)
    assert exc.value.params == {"setting": "EXITRIGHT_SMS_GATEWAY_URL"}
