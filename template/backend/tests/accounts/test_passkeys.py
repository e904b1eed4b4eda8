"""Passkeys, through real WebAuthn ceremonies checked by py_webauthn: the credentials come from a
software authenticator made here (an ES256 key from `cryptography`), which builds the
attestation and the assertions as the WebAuthn spec lays them out."""

import hashlib
import json
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from httpx import AsyncClient
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, encode_cbor

from tests.accounts.test_mfa import first_step, turn_on
from tests.conftest import TEST_ORIGIN
from tests.utils import API, Account, login, signup

pytestmark = pytest.mark.anyio

PASSKEYS = f"{API}/users/me/passkeys"
RP_ID = "testserver"  # the host of the tests' PUBLIC_URL
# Authenticator data flags (WebAuthn 6.1): user present, user verified, attested credential data.
UP, UV, AT = 0x01, 0x04, 0x40


@dataclass
class SoftAuthenticator:
    """A platform authenticator in software: one resident ES256 credential per registration,
    user verification always performed unless `verifies` is off."""

    verifies: bool = True
    credentials: dict[bytes, tuple[ec.EllipticCurvePrivateKey, bytes, int]] = field(
        default_factory=dict
    )

    def flags(self, *extra: int) -> int:
        return UP | (UV if self.verifies else 0) | sum(extra)

    @staticmethod
    def client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin}).encode()

    def create(self, options: dict[str, Any], origin: str = TEST_ORIGIN) -> dict[str, Any]:
        """navigator.credentials.create's answer, as `PublicKeyCredential.toJSON()` gives it."""
        key = ec.generate_private_key(ec.SECP256R1())
        credential_id = os.urandom(16)
        user_handle = base64url_to_bytes(options["user"]["id"])
        self.credentials[credential_id] = (key, user_handle, 0)
        numbers = key.public_key().public_numbers()
        # The COSE_Key of an EC2 P-256 key for ES256 (RFC 9053): kty 2, alg -7, crv 1, x, y.
        cose_key = {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32), -3: numbers.y.to_bytes(32)}
        attested = (
            bytes(16) + len(credential_id).to_bytes(2) + credential_id + encode_cbor(cose_key)
        )
        auth_data = self.auth_data(options["rp"]["id"], self.flags(AT), 0) + attested
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self.client_data("webauthn.create", options["challenge"], origin)
        return {
            "id": bytes_to_base64url(credential_id),
            "rawId": bytes_to_base64url(credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "attestationObject": bytes_to_base64url(attestation),
                "transports": ["internal"],
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }

    def get(
        self, options: dict[str, Any], origin: str = TEST_ORIGIN, credential_id: bytes | None = None
    ) -> dict[str, Any]:
        """navigator.credentials.get's answer with a discoverable credential (the first, unless
        `credential_id` says), its signature counter one up."""
        credential_id = credential_id or next(iter(self.credentials))
        key, user_handle, count = self.credentials[credential_id]
        self.credentials[credential_id] = (key, user_handle, count + 1)
        auth_data = self.auth_data(options["rpId"], self.flags(), count + 1)
        client_data = self.client_data("webauthn.get", options["challenge"], origin)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return {
            "id": bytes_to_base64url(credential_id),
            "rawId": bytes_to_base64url(credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "authenticatorData": bytes_to_base64url(auth_data),
                "signature": bytes_to_base64url(signature),
                "userHandle": bytes_to_base64url(user_handle),
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }

    @staticmethod
    def auth_data(rp_id: str, flags: int, sign_count: int) -> bytes:
        rp_id_hash = hashlib.sha256(rp_id.encode()).digest()
        return rp_id_hash + bytes([flags]) + sign_count.to_bytes(4)


async def add_passkey(
    client: AsyncClient, account: Account, device: SoftAuthenticator, name: str = "Laptop"
) -> dict[str, Any]:
    options = await client.post(f"{PASSKEYS}/options", headers=account.headers)
    assert options.status_code == 200, options.text
    body = {"credential": device.create(options.json()), "name": name}
    added = await client.post(PASSKEYS, headers=account.headers, json=body)
    assert added.status_code == 201, added.text
    return added.json()


async def passkey_sign_in(
    client: AsyncClient, device: SoftAuthenticator, **answer: Any
) -> tuple[int, dict[str, Any]]:
    options = await client.post(f"{API}/auth/passkey/options")
    assert options.status_code == 200, options.text
    credential = device.get(options.json(), **answer)
    response = await client.post(f"{API}/auth/passkey", json={"credential": credential})
    return response.status_code, response.json()


async def test_registration_options_ask_for_a_discoverable_verified_credential(
    client: AsyncClient,
) -> None:
    account = await signup(client)
    options = (await client.post(f"{PASSKEYS}/options", headers=account.headers)).json()
    assert options["rp"]["id"] == RP_ID
    assert options["user"]["name"] == account.email
    selection = options["authenticatorSelection"]
    assert (selection["residentKey"], selection["userVerification"]) == ("required", "required")


async def test_register_list_rename_and_delete(client: AsyncClient) -> None:
    account = await signup(client)
    device = SoftAuthenticator()
    added = await add_passkey(client, account, device, "Work laptop")
    assert added["name"] == "Work laptop" and added["last_used_at"] is None
    listed = (await client.get(PASSKEYS, headers=account.headers)).json()
    assert [p["id"] for p in listed] == [added["id"]]
    # The next registration excludes it: a device registers once.
    options = (await client.post(f"{PASSKEYS}/options", headers=account.headers)).json()
    excluded = [c["id"] for c in options["excludeCredentials"]]
    assert excluded == [bytes_to_base64url(next(iter(device.credentials)))]

    renamed = await client.patch(
        f"{PASSKEYS}/{added['id']}", headers=account.headers, json={"name": "Phone"}
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Phone"
    other = await signup(client)
    for method in ("PATCH", "DELETE"):
        theirs = await client.request(
            method, f"{PASSKEYS}/{added['id']}", headers=other.headers, json={"name": "Mine"}
        )
        assert theirs.status_code == 404
    deleted = await client.delete(f"{PASSKEYS}/{added['id']}", headers=account.headers)
    assert deleted.status_code == 204
    assert (await client.get(PASSKEYS, headers=account.headers)).json() == []
    status_code, _ = await passkey_sign_in(client, device)
    assert status_code == 401


async def test_a_passkey_signs_in_alone_even_with_an_authenticator_app(
    client: AsyncClient,
) -> None:
    account = await signup(client)
    device = SoftAuthenticator()
    await add_passkey(client, account, device)
    await turn_on(client, account)
    await first_step(client, account.email)  # the password needs the app's code now...
    status_code, tokens = await passkey_sign_in(client, device)  # ...the passkey does not
    assert status_code == 200, tokens
    me = await client.get(
        f"{API}/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.json()["email"] == account.email
    listed = (await client.get(PASSKEYS, headers=account.headers)).json()
    assert listed[0]["last_used_at"] is not None


async def test_an_answer_works_once(client: AsyncClient) -> None:
    account = await signup(client)
    device = SoftAuthenticator()
    await add_passkey(client, account, device)
    options = (await client.post(f"{API}/auth/passkey/options")).json()
    credential = device.get(options)
    first = await client.post(f"{API}/auth/passkey", json={"credential": credential})
    assert first.status_code == 200, first.text
    replayed = await client.post(f"{API}/auth/passkey", json={"credential": credential})
    assert replayed.status_code == 401


@pytest.mark.parametrize("case", ["no user verification", "another origin", "unknown key"])
async def test_answers_that_do_not_verify_are_refused(client: AsyncClient, case: str) -> None:
    account = await signup(client)
    device = SoftAuthenticator()
    await add_passkey(client, account, device)
    answer: dict[str, Any] = {}
    if case == "no user verification":
        device.verifies = False
    elif case == "another origin":
        answer["origin"] = "https://phishing.example.com"
    else:
        stranger = SoftAuthenticator()
        stranger.create(
            {
                "user": {"id": bytes_to_base64url(uuid.uuid4().bytes)},
                "rp": {"id": RP_ID},
                "challenge": "x",
            }
        )
        device = stranger
    status_code, body = await passkey_sign_in(client, device, **answer)
    assert status_code == 401, body
    assert "passkey" in body["detail"]


async def test_registration_needs_user_verification_and_the_sites_origin(
    client: AsyncClient,
) -> None:
    account = await signup(client)
    for device, origin in [
        (SoftAuthenticator(verifies=False), TEST_ORIGIN),
        (SoftAuthenticator(), "https://phishing.example.com"),
    ]:
        options = (await client.post(f"{PASSKEYS}/options", headers=account.headers)).json()
        body = {"credential": device.create(options, origin), "name": "Laptop"}
        refused = await client.post(PASSKEYS, headers=account.headers, json=body)
        assert refused.status_code == 400, refused.text
    assert (await client.get(PASSKEYS, headers=account.headers)).json() == []


@pytest.mark.parametrize(
    "credential",
    [{}, {"response": {}}, {"response": {"clientDataJSON": "!!"}}, {"rawId": 5, "response": 3}],
)
async def test_malformed_answers_are_4xx(client: AsyncClient, credential: dict) -> None:
    account = await signup(client)
    registered = await client.post(
        PASSKEYS, headers=account.headers, json={"credential": credential, "name": "x"}
    )
    assert registered.status_code == 400
    signed_in = await client.post(f"{API}/auth/passkey", json={"credential": credential})
    assert signed_in.status_code == 401


async def test_a_password_still_signs_in_an_account_with_a_passkey(client: AsyncClient) -> None:
    account = await signup(client)
    await add_passkey(client, account, SoftAuthenticator())
    assert "access_token" in await login(client, account.email)


async def test_another_method_on_the_options_is_405_not_a_bad_id(client: AsyncClient) -> None:
    account = await signup(client)
    for method in ("PATCH", "DELETE"):
        response = await client.request(
            method, f"{PASSKEYS}/options", headers=account.headers, json={"name": "x"}
        )
        assert response.status_code == 405, response.text
