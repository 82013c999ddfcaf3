"""Email over SMTP (aiosmtplib): the EMAIL channel's Sender.

One SMTP session per batch (STARTTLS or implicit TLS, login when a username is set), one
message per member: the template's title is the subject, its body the plain-text part,
UTF-8. A recipient or message the server refuses with a 5xx reply is refused for good;
a 4xx reply, a lost connection or a timeout leaves the message to be retried later.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from engage.senders import SENT, Message, Outcome

log = logging.getLogger("loyalty.messages")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    sender: str = "no-reply@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    tls: bool = False  # implicit TLS (port 465)
    timeout: float = 10.0


def compose(m: Message, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = m.to
    mail["Subject"] = m.title or ""
    mail["Message-ID"] = make_msgid(idstring=f"delivery-{m.delivery_id}")
    mail["X-Loyalty-Delivery"] = str(m.delivery_id)
    mail.set_content(m.body)
    return mail


class SmtpSender:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        c = self.config
        client = aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            use_tls=c.tls,
            start_tls=c.starttls and not c.tls,
            timeout=c.timeout,
        )
        outcomes: list[Outcome] = []
        try:
            await client.connect()
            if c.username:
                await client.login(c.username, c.password or "")
            for m in messages:
                outcomes.append(await self._one(client, m))
        except (aiosmtplib.SMTPException, OSError) as exc:
            problem = f"SMTP: {type(exc).__name__}: {exc}"[:300]
            final = isinstance(exc, aiosmtplib.SMTPAuthenticationError)
            outcomes += [Outcome(problem, final) for _ in messages[len(outcomes) :]]
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
        return outcomes

    async def _one(self, client: aiosmtplib.SMTP, m: Message) -> Outcome:
        try:
            await client.send_message(compose(m, self.config.sender))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            return Outcome(f"SMTP refused the recipient: {exc}"[:300], final=min(codes) >= 500)
        except (aiosmtplib.SMTPDataError, aiosmtplib.SMTPSenderRefused) as exc:
            return Outcome(f"SMTP refused the message: {exc}"[:300], final=exc.code >= 500)
        return SENT
