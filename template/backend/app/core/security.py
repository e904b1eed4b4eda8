"""Password hashing (pwdlib, argon2), JWTs (PyJWT, HS256 only) and emailed link tokens."""

import asyncio
import hashlib
import secrets
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any, Literal

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

ALGORITHM = "HS256"
# Stored instead of a hash for an account that has no password (made by signing in with a
# provider): no password matches it; a password reset sets a real one.
UNUSABLE_PASSWORD = "!"  # noqa: S105
TokenType = Literal["access", "refresh"]

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 50 ms of one core.
# Hashes made with other parameters still verify, and are upgraded at the next login.
password_hash = PasswordHash((Argon2Hasher(time_cost=2, memory_cost=19_456, parallelism=1),))


class HashingBusy(Exception):
    """Too many logins are already waiting to be hashed in this worker: answer 503 at once."""


class Hashing:
    """Hash off the event loop, at most two at once per worker, so a burst of logins neither
    stalls other requests nor exhausts the container's memory; at most `max_queued` wait, so a
    login storm gets 503 + Retry-After at once instead of timing out in a queue.

    Two dedicated threads rather than any of anyio's 40: each thread that hashes keeps its own
    19 MiB malloc arena, so 40 would grow a worker's resident memory by hundreds of MB.
    """

    def __init__(self, threads: int = 2, max_queued: int = 16) -> None:
        self.max_queued = max_queued  # about 0.4 s of work for two threads
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")
        self._queued = 0

    async def run(self, function: Callable[..., Any], *args: object) -> Any:
        if self._queued >= self.max_queued:
            raise HashingBusy
        self._queued += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._threads, function, *args)
        finally:
            self._queued -= 1


hashing = Hashing()


class InvalidTokenError(Exception):
    """Expired, tampered, wrongly signed, of the wrong type, or not a JWT at all."""


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    token_id: uuid.UUID
    expires_at: datetime
    # The user's session_version when the token was issued: an older one is signed out.
    version: int = 0


def new_link_token() -> tuple[str, str]:
    """A token for an emailed link, and the digest to store: 256 random bits, so unguessable and
    unforgeable; only the digest is kept, so a copy of the database opens no account."""
    token = secrets.token_urlsafe(32)
    return token, link_token_digest(token)


def link_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@cache
def _unknown_user_hash() -> str:
    return password_hash.hash(uuid.uuid4().hex)


async def hash_password(password: str) -> str:
    return await hashing.run(password_hash.hash, password)


def has_usable_password(hashed: str) -> bool:
    return not hashed.startswith(UNUSABLE_PASSWORD)


async def verify_password(password: str, hashed: str | None) -> tuple[bool, str | None]:
    """(matches, new hash when the stored one uses outdated parameters).

    With no stored hash (unknown email), or an unusable one, a hash is still verified, so the
    answer takes as long as for a known email and does not tell which emails have accounts.
    """
    if hashed is None or not has_usable_password(hashed):
        await hashing.run(password_hash.verify_and_update, password, _unknown_user_hash())
        return False, None
    return await hashing.run(password_hash.verify_and_update, password, hashed)


def create_token(
    user_id: uuid.UUID,
    token_type: TokenType,
    lifetime: timedelta,
    secret_key: str,
    *,
    version: int = 0,
) -> tuple[str, TokenClaims]:
    now = datetime.now(UTC)
    claims = TokenClaims(
        user_id=user_id, token_id=uuid.uuid4(), expires_at=now + lifetime, version=version
    )
    payload = {
        "sub": str(user_id),
        "type": token_type,
        "jti": str(claims.token_id),
        "iat": now,
        "exp": claims.expires_at,
        "ver": version,
    }
    return jwt.encode(payload, secret_key, algorithm=ALGORITHM), claims


def decode_token(token: str, token_type: TokenType, secret_key: str) -> TokenClaims:
    """The claims of a valid token of `token_type`; InvalidTokenError for anything else."""
    claims = _verified_claims(token, token_type, secret_key)
    if claims.expires_at <= datetime.now(UTC):
        raise InvalidTokenError("Signature has expired")
    return claims


# A token's signature checks out the same way every time: each worker verifies a token once, not
# on every request that carries it (only valid tokens are kept; expiry is checked on every use).
@lru_cache(maxsize=4096)
def _verified_claims(token: str, token_type: TokenType, secret_key: str) -> TokenClaims:
    try:
        payload = jwt.decode(
            token,
            secret_key,
            algorithms=[ALGORITHM],  # never "none", never an algorithm the token picks
            options={"require": ["exp", "iat", "sub", "jti", "type"]},
        )
        if payload["type"] != token_type:
            raise InvalidTokenError(f"expected a {token_type} token")
        return TokenClaims(
            user_id=uuid.UUID(payload["sub"]),
            token_id=uuid.UUID(payload["jti"]),
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
            version=int(payload.get("ver", 0)),
        )
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
        raise InvalidTokenError(str(error)) from error
