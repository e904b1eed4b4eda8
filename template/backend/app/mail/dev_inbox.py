"""`make dev`'s inbox: with ENVIRONMENT=local and SMTP_HOST unset, each email is saved as a .eml
file in DEV_INBOX_DIR (backend/dev-inbox/ by default; any mail program opens one) and /dev/inbox
lists them, newest first, with their links. The route exists only with ENVIRONMENT=local."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader

from app.core.config import Settings

# The messages shown on the page; older files stay in the folder.
SHOWN = 50
LINK = re.compile(r"https?://[^\s<>\"]+")

router = APIRouter(include_in_schema=False)
page = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
).get_template("dev_inbox.html")


@dataclass(frozen=True)
class Saved:
    to: str
    subject: str
    received: datetime
    text: str

    @property
    def links(self) -> list[str]:
        return LINK.findall(self.text)


def save(settings: Settings, message: EmailMessage) -> Path:
    """Write `message` into the inbox folder; returns its file."""
    settings.dev_inbox_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = settings.dev_inbox_dir / f"{stamp}.eml"
    path.write_bytes(message.as_bytes(policy=policy.SMTP))
    return path


def read(directory: Path) -> list[Saved]:
    """The newest SHOWN messages in `directory`, newest first."""
    files = sorted(directory.glob("*.eml"), reverse=True)[:SHOWN] if directory.is_dir() else []
    saved = []
    for path in files:
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        body = message.get_body(("plain",))
        saved.append(
            Saved(
                to=str(message["To"]),
                subject=str(message["Subject"]),
                received=datetime.fromtimestamp(path.stat().st_mtime, UTC),
                text=body.get_content() if isinstance(body, EmailMessage) else "",
            )
        )
    return saved


@router.get("/dev/inbox", response_class=HTMLResponse)
async def inbox(request: Request) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    html = page.render(
        app_name=settings.project_name,
        messages=read(settings.dev_inbox_dir),
        directory=settings.dev_inbox_dir,
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
