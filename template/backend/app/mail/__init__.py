"""Email: a message from two Jinja templates (<domain>/email_templates/<name>.txt and .html), sent
with aiosmtplib. Jobs send it (app/accounts/jobs.py), so a slow or failing mail server costs a
retry, never a request. With SMTP_HOST unset the message is not sent: `make dev` (ENVIRONMENT=local)
keeps it in its dev inbox (app/mail/dev_inbox.py, the page /dev/inbox), elsewhere it goes to the
log, link and all. So `make dev` needs no mail server."""

import logging
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.core.config import Settings
from app.mail import dev_inbox

logger = logging.getLogger(__name__)

# Each domain's messages are in its email_templates/ (app/accounts/email_templates/), the layout
# they extend here.
APP = Path(__file__).resolve().parents[1]
TEMPLATES = [*sorted(APP.glob("*/email_templates")), Path(__file__).parent / "templates"]
# HTML is escaped (a user's name is data, not markup); StrictUndefined: a missing value fails the
# job, where a test sees it, instead of mailing a blank link.
templates = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def compose(settings: Settings, to: str, template: str, **context: object) -> EmailMessage:
    """The message `template` to `to`: its first text line is the subject."""
    context = {"app_name": settings.project_name, **context}
    subject, _, text = templates.get_template(f"{template}.txt").render(context).partition("\n")
    message = EmailMessage()
    message["From"] = settings.emails_from
    message["To"] = to
    message["Subject"] = subject.strip()
    message["Message-ID"] = make_msgid(domain=settings.emails_from.rpartition("@")[2].strip(">"))
    message.set_content(text.lstrip("\n"))
    message.add_alternative(templates.get_template(f"{template}.html").render(context), "html")
    return message


async def send_template(settings: Settings, to: str, template: str, **context: object) -> None:
    """Compose the message `template` to `to` and deliver it (see compose and send)."""
    await send(settings, compose(settings, to, template, **context))


async def send(settings: Settings, message: EmailMessage) -> None:
    """Deliver `message`; raises when the server refuses or cannot be reached (the job retries)."""
    if not settings.smtp_host and settings.environment == "local":
        path = dev_inbox.save(settings, message)
        logger.info(
            "SMTP_HOST is unset: the email to %s is in the dev inbox, %s/dev/inbox (%s)",
            message["To"],
            settings.public_url,
            path.name,
        )
        return
    if not settings.smtp_host:
        text = message.get_body(("plain",))
        logger.info(
            "SMTP_HOST is unset: this email was not sent\nTo: %s\nSubject: %s\n\n%s",
            message["To"],
            message["Subject"],
            text.get_content() if text else "",
        )
        return
    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_user or None,
        password=settings.smtp_password or None,
        use_tls=settings.smtp_tls == "tls",
        start_tls=settings.smtp_tls == "starttls",
        timeout=30,
    )
