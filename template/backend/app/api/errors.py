"""Errors a page words differently carry a machine-readable `code` beside the readable `detail`."""

from enum import StrEnum

from fastapi import HTTPException, status


class ErrorCode(StrEnum):
    """Every code the API sends: the web app (frontend/src/errors.js) words each one."""

    EMAIL_NOT_VERIFIED = "email_not_verified"
    ACCOUNT_DEACTIVATED = "account_deactivated"
    LAST_ADMIN = "last_admin"
    # Signed out elsewhere: a password change or reset, "sign out everywhere", a reused token.
    SESSION_ENDED = "session_ended"
    # Two-step sign-in (app/accounts/mfa_routes.py).
    MFA_INVALID_CODE = "mfa_invalid_code"
    MFA_EXPIRED = "mfa_expired"
    MFA_ALREADY_ON = "mfa_already_on"
    MFA_NOT_ON = "mfa_not_on"
    # REQUIRE_MFA_FOR_ADMINS: an admin without a second factor is refused the admin routes.
    MFA_REQUIRED = "mfa_required"
    # Another domain still needs the account: its detail says why and what to do first.
    DELETION_BLOCKED = "deletion_blocked"


class CodedError(HTTPException):
    """An HTTPException whose body is `{"detail": ..., "code": ...}` (app.main renders it)."""

    def __init__(
        self,
        status_code: int,
        code: ErrorCode,
        detail: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, detail, headers)
        self.code = code


def account_deactivated() -> CodedError:
    return CodedError(
        status.HTTP_403_FORBIDDEN,
        ErrorCode.ACCOUNT_DEACTIVATED,
        "This account is deactivated. Ask an administrator to reactivate it.",
    )


def email_not_verified() -> CodedError:
    return CodedError(
        status.HTTP_403_FORBIDDEN,
        ErrorCode.EMAIL_NOT_VERIFIED,
        "Confirm your email address first: open the link we sent you, or ask for a new one.",
    )


def session_ended() -> CodedError:
    return CodedError(
        status.HTTP_401_UNAUTHORIZED,
        ErrorCode.SESSION_ENDED,
        "This session was signed out; sign in again.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def mfa_required() -> CodedError:
    return CodedError(
        status.HTTP_403_FORBIDDEN,
        ErrorCode.MFA_REQUIRED,
        "Admins must use two-step sign-in here: turn on an authenticator app on your account page.",
    )
