"""Two-step sign-in's tables and shapes: an authenticator app (TOTP), recovery codes, the
pending second step of a sign-in, and passkeys (the migrations in alembic/ match)."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import Field as Constraints
from pydantic import model_validator
from sqlalchemy import LargeBinary
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow

RECOVERY_CODES = 10


class TotpFactor(SQLModel, table=True):
    """A user's authenticator app: on once confirmed with a first code. The secret is what the app
    holds too; the last accepted time step makes every code work once."""

    __tablename__ = "totp_factors"

    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", primary_key=True)
    secret: str = Field(max_length=64)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The RFC 6238 time step of the last code accepted: codes of it or earlier are refused.
    last_step: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RecoveryCode(SQLModel, table=True):
    """One of the codes shown once when the authenticator app is turned on; only its SHA-256 is
    kept, and it works once."""

    __tablename__ = "recovery_codes"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    digest: str = Field(max_length=64)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MfaChallenge(SQLModel, table=True):
    """The second step a sign-in still owes: its token (only the SHA-256 is kept) works once,
    for minutes, for a few wrong codes, and only while the account's sessions stand."""

    __tablename__ = "mfa_challenges"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    digest: str = Field(max_length=64, unique=True)
    # How the first step was taken ("password", or a provider's name), for the audit event.
    method: str = Field(max_length=32)
    session_version: int
    failures: int = 0
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Passkey(SQLModel, table=True):
    """A WebAuthn credential the user registered (a discoverable one, with user verification): it
    signs in alone. Only its public key is here; the private key never leaves the device."""

    __tablename__ = "passkeys"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    credential_id: bytes = Field(sa_type=LargeBinary, unique=True)
    public_key: bytes = Field(sa_type=LargeBinary)
    sign_count: int = 0
    name: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebAuthnChallenge(SQLModel, table=True):
    """A challenge handed to the browser for a passkey ceremony: found again by its SHA-256 in
    the answer's client data, it works once, for minutes, for its purpose (and user)."""

    __tablename__ = "webauthn_challenges"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    digest: str = Field(max_length=64, unique=True)
    purpose: str = Field(max_length=16)  # register, authenticate
    # The signed-in user a registration is for; none for a sign-in (the passkey says who).
    user_id: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", ondelete="CASCADE", index=True
    )
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- shapes ---------------------------------------------------------------------------------------
# Six digits from the app; spaces (as some apps show them) are dropped before checking.
TotpCode = Annotated[str, Constraints(min_length=6, max_length=12, pattern=r"^[0-9 ]+$")]
# xxxx-xxxx-xxxx-xxxx; dashes, spaces and case do not matter.
RecoveryCodeText = Annotated[str, Constraints(min_length=16, max_length=40, pattern=r"^[\w -]+$")]
MfaToken = Annotated[str, Constraints(min_length=1, max_length=128)]


class MfaRequired(SQLModel):
    """A password (or provider) sign-in of an account with a second factor: no tokens yet."""

    mfa_required: Literal[True] = True
    mfa_token: str


class TotpSetup(SQLModel):
    secret: str
    otpauth_uri: str
    qr_svg: str


class TotpConfirm(SQLModel):
    code: TotpCode


class RecoveryCodes(SQLModel):
    recovery_codes: list[str]


class TotpDisable(SQLModel):
    """The account's password, or a code from the app: either proves the owner is here."""

    password: Annotated[str, Constraints(max_length=1024)] | None = None
    code: TotpCode | None = None

    @model_validator(mode="after")
    def _one_proof(self) -> Self:
        if (self.password is None) == (self.code is None):
            raise ValueError("give either your password or a code from your app")
        return self


class MfaVerify(SQLModel):
    mfa_token: MfaToken
    code: TotpCode | None = None
    recovery_code: RecoveryCodeText | None = None

    @model_validator(mode="after")
    def _one_code(self) -> Self:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("give either a code from your app or a recovery code")
        return self


class MfaStatus(SQLModel):
    totp: bool
    recovery_codes_left: int


# A name for a passkey, to tell them apart on the account page.
PasskeyName = Annotated[
    str, Constraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$")
]


class PasskeyRegister(SQLModel):
    """The browser's `credential.toJSON()` of navigator.credentials.create, and a name for it."""

    credential: dict[str, Any]
    name: PasskeyName = "Passkey"


class PasskeyRename(SQLModel):
    name: PasskeyName


class PasskeySignIn(SQLModel):
    """The browser's `credential.toJSON()` of navigator.credentials.get."""

    credential: dict[str, Any]


class PasskeyPublic(SQLModel):
    id: uuid.UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None
