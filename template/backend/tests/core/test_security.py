"""Verified tokens are remembered per worker, but never past their expiry."""

import time
import uuid
from datetime import timedelta

import pytest

from app.core.security import InvalidTokenError, create_token, decode_token

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def test_a_remembered_token_still_expires() -> None:
    user_id = uuid.uuid4()
    # The token's exp is whole seconds: 2 s of lifetime leave at least 1 s for the first check.
    token, claims = create_token(user_id, "access", timedelta(seconds=2), SECRET)
    assert decode_token(token, "access", SECRET).user_id == user_id
    time.sleep(claims.expires_at.timestamp() - time.time() + 0.1)
    with pytest.raises(InvalidTokenError, match="expired"):
        decode_token(token, "access", SECRET)


def test_a_remembered_token_is_checked_against_the_key_and_type() -> None:
    token, _ = create_token(uuid.uuid4(), "access", timedelta(minutes=1), SECRET)
    decode_token(token, "access", SECRET)
    with pytest.raises(InvalidTokenError):
        decode_token(token, "access", "another-secret-that-is-long-enough-too")
    with pytest.raises(InvalidTokenError):
        decode_token(token, "refresh", SECRET)
