"""The audit trail: `record(...)` adds an event to the session of the change it describes, so the
event commits with the change, or not at all."""

import uuid
from typing import Any

from asgi_correlation_id import correlation_id
from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.models import AuditEvent

# The kinds of event, one place: the admin page filters by them.
SIGN_IN = "auth.sign_in"
SIGN_IN_FAILED = "auth.sign_in_failed"
PASSWORD_RESET = "auth.password_reset"  # noqa: S105  (an event kind, not a password)
REGISTERED = "user.registered"
# Someone registered an address that has an account (its owner gets an email).
REGISTRATION_ATTEMPTED = "user.registration_attempted"
PASSWORD_CHANGED = "user.password_changed"  # noqa: S105
EMAIL_CHANGED = "user.email_changed"
SIGNED_OUT_EVERYWHERE = "user.signed_out_everywhere"
DELETED = "user.deleted"
ROLE_CHANGED = "admin.role_changed"
DEACTIVATED = "admin.user_deactivated"
REACTIVATED = "admin.user_reactivated"
VERIFICATION_RESENT = "admin.verification_resent"
PASSWORD_RESET_FORCED = "admin.password_reset_forced"  # noqa: S105
FIRST_ADMIN = "admin.first_admin"
# Sign in with a provider (where the project offers it): SIGN_IN's detail names the provider.
PROVIDER_LINKED = "user.provider_linked"
PROVIDER_UNLINKED = "user.provider_unlinked"
PROVIDER_SIGN_IN_REFUSED = "auth.provider_sign_in_refused"
# Two-step sign-in: every change to a factor, and the second steps that fail or use a recovery code.
MFA_TOTP_ENABLED = "user.mfa_totp_enabled"
MFA_TOTP_DISABLED = "user.mfa_totp_disabled"
MFA_RECOVERY_CODES_RENEWED = "user.mfa_recovery_codes_renewed"
MFA_FAILED = "auth.mfa_failed"
MFA_RECOVERY_CODE_USED = "auth.mfa_recovery_code_used"
MFA_RESET = "admin.mfa_reset"
PASSKEY_ADDED = "user.passkey_added"
PASSKEY_RENAMED = "user.passkey_renamed"
PASSKEY_REMOVED = "user.passkey_removed"
KINDS = (
    SIGN_IN, SIGN_IN_FAILED, PASSWORD_RESET, REGISTERED, REGISTRATION_ATTEMPTED, PASSWORD_CHANGED,
    EMAIL_CHANGED, SIGNED_OUT_EVERYWHERE, DELETED, ROLE_CHANGED, DEACTIVATED, REACTIVATED,
    VERIFICATION_RESENT, PASSWORD_RESET_FORCED, FIRST_ADMIN, PROVIDER_LINKED, PROVIDER_UNLINKED,
    PROVIDER_SIGN_IN_REFUSED, MFA_TOTP_ENABLED, MFA_TOTP_DISABLED, MFA_RECOVERY_CODES_RENEWED,
    MFA_FAILED, MFA_RECOVERY_CODE_USED, MFA_RESET, PASSKEY_ADDED, PASSKEY_RENAMED, PASSKEY_REMOVED,
)  # fmt: skip


def record(
    session: AsyncSession,
    kind: str,
    *,
    request: Request | None = None,
    actor_id: uuid.UUID | None = None,
    target_user_id: uuid.UUID | None = None,
    ip: str | None = None,
    request_id: str | None = None,
    **detail: Any,
) -> None:
    """Add the event to `session`; the caller's commit writes it with the change. A job records
    the `ip` and `request_id` of the request that enqueued it."""
    session.add(
        AuditEvent(
            kind=kind,
            actor_id=actor_id,
            target_user_id=target_user_id,
            ip=(request.client.host if request and request.client else ip or "")[:64] or None,
            request_id=correlation_id.get() or request_id,
            detail=detail,
        )
    )
