"""Passkeys (WebAuthn, with py_webauthn): the options a browser's ceremony starts from, and the
checks of what it answers. The relying party is the site: its id and origin come from PUBLIC_URL.
Every credential is discoverable and verifies its user (a PIN, a fingerprint), so a passkey alone
is two factors: something held and something known or been."""

import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import webauthn
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession
from webauthn.helpers import base64url_to_bytes, parse_client_data_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.accounts.mfa_models import Passkey, WebAuthnChallenge
from app.accounts.models import User
from app.core.config import Settings
from app.core.db import utcnow

REGISTER, AUTHENTICATE = "register", "authenticate"
CEREMONY_LIFETIME = timedelta(minutes=5)
# Everything a malformed or forged answer can raise while it is parsed and checked.
REFUSED = (WebAuthnException, ValueError, KeyError, TypeError, AttributeError)


class PasskeyRefused(Exception):
    """The browser's answer is malformed, for another challenge or site, or does not verify."""


def relying_party(settings: Settings) -> tuple[str, str]:
    """(rp id, origin): the host of PUBLIC_URL, and its scheme and host (and port)."""
    url = urlsplit(settings.public_url)
    return url.hostname or "localhost", f"{url.scheme}://{url.netloc}"


async def passkeys_of(session: AsyncSession, user_id: uuid.UUID) -> list[Passkey]:
    result = await session.exec(
        select(Passkey).where(col(Passkey.user_id) == user_id).order_by(col(Passkey.created_at))
    )
    return list(result.all())


async def new_challenge(
    session: AsyncSession, purpose: str, challenge: bytes, user_id: uuid.UUID | None = None
) -> None:
    session.add(
        WebAuthnChallenge(
            digest=hashlib.sha256(challenge).hexdigest(),
            purpose=purpose,
            user_id=user_id,
            expires_at=utcnow() + CEREMONY_LIFETIME,
        )
    )


async def use_challenge(
    session: AsyncSession, credential: dict[str, Any], purpose: str, user_id: uuid.UUID | None
) -> bytes:
    """The challenge the answer signed, once it is found unused and in time for `purpose` (and
    the user), and marked used: one conditional UPDATE, so an answer works once."""
    try:
        client_data = base64url_to_bytes(credential["response"]["clientDataJSON"])
        challenge = parse_client_data_json(client_data).challenge
    except REFUSED as error:
        raise PasskeyRefused("the answer's client data is malformed") from error
    result = await session.exec(
        update(WebAuthnChallenge)
        .where(
            col(WebAuthnChallenge.digest) == hashlib.sha256(challenge).hexdigest(),
            col(WebAuthnChallenge.purpose) == purpose,
            col(WebAuthnChallenge.user_id) == user_id
            if user_id
            else col(WebAuthnChallenge.user_id).is_(None),
            col(WebAuthnChallenge.used_at).is_(None),
            col(WebAuthnChallenge.expires_at) > utcnow(),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise PasskeyRefused("the challenge is unknown, used or expired")
    return challenge


async def registration_options(
    session: AsyncSession, settings: Settings, user: User
) -> dict[str, Any]:
    """What navigator.credentials.create needs, as JSON; the challenge is kept (the caller
    commits). The user's passkeys are excluded: a device registers once."""
    rp_id, _ = relying_party(settings)
    options = webauthn.generate_registration_options(
        rp_id=rp_id,
        rp_name=settings.project_name,
        user_id=user.id.bytes,
        user_name=user.email,
        user_display_name=user.full_name or user.email,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=passkey.credential_id)
            for passkey in await passkeys_of(session, user.id)
        ],
    )
    await new_challenge(session, REGISTER, options.challenge, user.id)
    return json.loads(webauthn.options_to_json(options))


async def register(
    session: AsyncSession, settings: Settings, user: User, credential: dict[str, Any], name: str
) -> Passkey:
    """Check the browser's answer to the registration options and keep the passkey (the caller
    commits); PasskeyRefused when it does not verify."""
    challenge = await use_challenge(session, credential, REGISTER, user.id)
    rp_id, origin = relying_party(settings)
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
    except REFUSED as error:
        raise PasskeyRefused(str(error)) from error
    passkey = Passkey(
        user_id=user.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=name,
    )
    session.add(passkey)
    return passkey


async def authentication_options(session: AsyncSession, settings: Settings) -> dict[str, Any]:
    """What navigator.credentials.get needs, as JSON: no credentials listed (the device offers
    its discoverable ones), user verification required. The challenge is kept (caller commits)."""
    rp_id, _ = relying_party(settings)
    options = webauthn.generate_authentication_options(
        rp_id=rp_id, user_verification=UserVerificationRequirement.REQUIRED
    )
    await new_challenge(session, AUTHENTICATE, options.challenge)
    return json.loads(webauthn.options_to_json(options))


async def authenticate(
    session: AsyncSession, settings: Settings, credential: dict[str, Any]
) -> Passkey:
    """The passkey that signed the browser's answer to the authentication options, its use
    recorded (the caller commits); PasskeyRefused when the answer does not verify."""
    challenge = await use_challenge(session, credential, AUTHENTICATE, None)
    try:
        credential_id = base64url_to_bytes(credential["rawId"])
    except REFUSED as error:
        raise PasskeyRefused("the answer names no credential") from error
    result = await session.exec(select(Passkey).where(col(Passkey.credential_id) == credential_id))
    passkey = result.first()
    if passkey is None:
        raise PasskeyRefused("no such passkey")
    user_handle = credential["response"].get("userHandle")
    if user_handle and base64url_to_bytes(user_handle) != passkey.user_id.bytes:
        raise PasskeyRefused("the passkey answers for another user")
    rp_id, origin = relying_party(settings)
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except REFUSED as error:
        raise PasskeyRefused(str(error)) from error
    passkey.sign_count, passkey.last_used_at = verified.new_sign_count, utcnow()
    session.add(passkey)
    return passkey


async def remove_passkeys(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Every passkey of the user goes (the caller commits)."""
    await session.exec(delete(Passkey).where(col(Passkey.user_id) == user_id))


async def delete_expired_challenges(session: AsyncSession) -> int:
    result = await session.exec(
        delete(WebAuthnChallenge).where(col(WebAuthnChallenge.expires_at) < utcnow())
    )
    return result.rowcount
