"""The invitation email. The job makes the link's token when it runs, so the token never sits in
the job queue's arguments; sending again makes a new one, and the link sent before stops working."""

import uuid

from procrastinate import JobContext

from app import mail
from app.accounts.jobs import link
from app.core.config import Settings
from app.core.security import new_link_token
from app.jobs.queue import DEFAULT_RETRY, queue, session_for
from app.orgs import crud


@queue.task(pass_context=True, retry=DEFAULT_RETRY)
async def send_invitation(context: JobContext, invitation_id: str, inviter: str) -> None:
    """The invitation's link, to the invited address; nothing once it was accepted or revoked."""
    settings: Settings = context.additional_context["settings"]
    token, digest = new_link_token()
    async with session_for(context) as session:
        invitation = await crud.set_invitation_token(session, uuid.UUID(invitation_id), digest)
        if invitation is None:
            return
        org = await crud.get_org(session, invitation.org_id)
        await session.commit()
    if org is None:
        return
    await mail.send_template(
        settings,
        invitation.email,
        "invitation",
        email=invitation.email,
        org_name=org.name,
        role=invitation.role,
        inviter=inviter,
        link=link(settings, "invitations/accept", token),
        expires_at=f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC",
    )
