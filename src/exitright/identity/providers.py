"""Delivering one-time codes: the port, and its console, SMTP and HTTP SMS gateway adapters.

A provider gets an :class:`OutgoingCode` (destination, code, language) and either delivers it or
raises :class:`DeliveryError`. Providers never log a destination in full — only :func:`mask` —
and never put a code in an exception. :func:`providers_from_settings` builds the pair the
deployment configured (``sms_provider`` / ``email_provider``); the console provider is for
development and the demo, and production refuses it.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from string import Template
from typing import Final, Protocol

import httpx

from exitright.config import Settings
from exitright.errors import ErrorCode, ExitRightError
from exitright.i18n import gettext
from exitright.identity.identifiers import Identifier, mask
from exitright.identity.otp import Channel, Factor

__all__ = [
    "CodeSender",
    "ConsoleProvider",
    "DeliveryError",
    "HttpSmsProvider",
    "OutgoingCode",
    "SentCode",
    "SmtpProvider",
    "providers_from_settings",
]

log = logging.getLogger("exitright.identity.delivery")

DEFAULT_SMS_TEMPLATE: Final = '{"to": "$phone", "text": "$text"}'


class DeliveryError(Exception):
    """The provider could not deliver a code (holds no destination and no code)."""


@dataclass(frozen=True)
class OutgoingCode:
    """A code on its way to ``to``; ``minutes`` is how long it stays valid."""

    to: Identifier
    code: str
    minutes: int
    lang: str = "zh-CN"

    def __repr__(self) -> str:
        return f"OutgoingCode(to={mask(self.to)}, code=******)"

    @property
    def channel(self) -> Channel:
        """SMS for a phone number, e-mail for an address."""
        return Channel.SMS if self.to.factor is Factor.PHONE else Channel.EMAIL

    def text(self) -> str:
        """The message body in the requester's language."""
        return gettext(self.lang, "identity.code.body", code=self.code, minutes=self.minutes)


class CodeSender(Protocol):
    """Delivers codes over one channel."""

    def send(self, message: OutgoingCode) -> None:
        """Deliver ``message`` or raise :class:`DeliveryError`."""
        ...


@dataclass(frozen=True)
class SentCode:
    """What the console provider shows a developer: masked destination and the code."""

    at: datetime
    channel: Channel
    to: str
    code: str


class ConsoleProvider:
    """Development and demo delivery: logs ``138****5678: 123456`` and keeps the last codes.

    The developer page of the demo reads :meth:`recent`; nothing leaves the machine.
    """

    def __init__(self, keep: int = 20) -> None:
        self._recent: deque[SentCode] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def send(self, message: OutgoingCode) -> None:
        """Log the masked destination and the code, and remember them."""
        sent = SentCode(datetime.now(UTC), message.channel, mask(message.to), message.code)
        with self._lock:
            self._recent.appendleft(sent)
        log.warning("one-time code for %s via %s: %s", sent.to, sent.channel.value, sent.code)

    def recent(self) -> list[SentCode]:
        """The last codes sent, newest first."""
        with self._lock:
            return list(self._recent)


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand e-mails over."""

    host: str
    port: int
    sender: str
    tls: str = "starttls"  # starttls | ssl | none
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0


class SmtpProvider:
    """E-mail through an SMTP server (``smtplib``), STARTTLS or implicit TLS by default."""

    def __init__(self, config: SmtpSettings, context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self.context = context or ssl.create_default_context()

    def send(self, message: OutgoingCode) -> None:
        """Send one e-mail with the code."""
        c = self.config
        mail = EmailMessage()
        mail["From"] = c.sender
        mail["To"] = message.to.value
        mail["Subject"] = gettext(message.lang, "identity.code.subject")
        mail.set_content(message.text())
        try:
            smtp: smtplib.SMTP
            if c.tls == "ssl":
                smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=self.context)
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
            with smtp:
                if c.tls == "starttls":
                    smtp.starttls(context=self.context)
                if c.username:
                    smtp.login(c.username, c.password or "")
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            # The server's reply may echo the recipient, so only its type is kept.
            raise DeliveryError(f"SMTP delivery failed ({type(exc).__name__})") from None


class HttpSmsProvider:
    """SMS through an HTTP gateway: POST a body rendered from a template, with an auth header.

    The template is a :class:`string.Template` with ``$phone`` (E.164), ``$national`` (the 11
    digits of a mainland number), ``$code``, ``$minutes`` and ``$text``; values are JSON-escaped,
    so a JSON template stays valid JSON. Any 2xx answer counts as accepted.
    """

    def __init__(
        self,
        url: str,
        *,
        template: str = DEFAULT_SMS_TEMPLATE,
        content_type: str = "application/json",
        auth_header: tuple[str, str] | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.template = Template(template)
        self.content_type = content_type
        self.auth_header = auth_header
        self.timeout = timeout
        self.transport = transport

    def body(self, message: OutgoingCode) -> str:
        """The request body for ``message``."""
        values = {
            "phone": message.to.value,
            "national": message.to.national_mobile or message.to.value,
            "code": message.code,
            "minutes": str(message.minutes),
            "text": message.text(),
        }
        escaped = {k: json.dumps(v, ensure_ascii=False)[1:-1] for k, v in values.items()}
        return self.template.substitute(escaped)

    def send(self, message: OutgoingCode) -> None:
        """POST the rendered body; a non-2xx answer or a network failure is a DeliveryError."""
        headers = {"Content-Type": self.content_type}
        if self.auth_header is not None:
            headers[self.auth_header[0]] = self.auth_header[1]
        try:
            with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
                response = client.post(
                    self.url, content=self.body(message).encode(), headers=headers
                )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"SMS gateway unreachable ({type(exc).__name__})") from None
        if not response.is_success:
            raise DeliveryError(f"SMS gateway answered {response.status_code}")


def _config_error(setting: str) -> ExitRightError:
    return ExitRightError(
        ErrorCode.INVALID_CONFIG,
        details={"setting": setting},
        message_id="identity.error.provider_config",
        params={"setting": f"EXITRIGHT_{setting.upper()}"},
    )


def providers_from_settings(
    settings: Settings, console: ConsoleProvider | None = None
) -> Mapping[Channel, CodeSender]:
    """The SMS and e-mail providers the deployment configured.

    ``console`` is shared by both channels when either uses the console (so one developer page
    shows every code). Production refuses the console provider: it would log live codes.
    """
    out: dict[Channel, CodeSender] = {}
    if "console" in (settings.sms_provider, settings.email_provider):
        if settings.environment == "production":
            which = "sms_provider" if settings.sms_provider == "console" else "email_provider"
            raise _config_error(which)
        console = console or ConsoleProvider()
    if settings.sms_provider == "http":
        if not settings.sms_gateway_url:
            raise _config_error("sms_gateway_url")
        auth = settings.sms_gateway_auth
        out[Channel.SMS] = HttpSmsProvider(
            settings.sms_gateway_url,
            template=settings.sms_gateway_template,
            content_type=settings.sms_gateway_content_type,
            auth_header=(
                (settings.sms_gateway_auth_header, auth.get_secret_value()) if auth else None
            ),
        )
    elif console is not None:
        out[Channel.SMS] = console
    if settings.email_provider == "smtp":
        if not settings.smtp_host or not settings.smtp_from:
            raise _config_error("smtp_host" if not settings.smtp_host else "smtp_from")
        password = settings.smtp_password
        out[Channel.EMAIL] = SmtpProvider(
            SmtpSettings(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.smtp_from,
                tls=settings.smtp_tls,
                username=settings.smtp_username,
                password=password.get_secret_value() if password else None,
            )
        )
    elif console is not None:
        out[Channel.EMAIL] = console
    return out
