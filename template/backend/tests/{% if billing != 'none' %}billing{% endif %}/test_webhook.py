"""The webhook: Stripe's signature checked on the raw body by stripe-python, each event applied
once (a replay answers 200 and changes nothing), never an older event over a newer state, and
every lifecycle transition."""

import json
import time
import uuid
from datetime import timedelta

import pytest
import stripe
from httpx import AsyncClient
from sqlmodel import col, select

from app.audit.models import AuditEvent
from app.billing import crud
from app.billing.models import StripeEvent, Subscription
from tests.billing.helpers import (
    DAY,
    WEBHOOK_SECRET,
    Payer,
    deliver,
    event,
    new_payer,
    post_event,
    signature,
    subscription,
)
from tests.utils import run_jobs

pytestmark = pytest.mark.anyio


def sessions(client: AsyncClient):  # type: ignore[no-untyped-def]
    return client._transport.app.state.sessionmaker  # type: ignore[attr-defined]


async def subscribed(client: AsyncClient) -> Payer:
    """A payer after checkout: a customer at localstripe, the checkout completed."""
    payer = await new_payer(client)
    response = await client.post(
        f"{payer.billing}/checkout", json={"plan": "pro"}, headers=payer.owner.headers
    )
    assert response.status_code == 200, response.text
    async with sessions(client)() as session:
        row = await session.get(Subscription, uuid.UUID(payer.account_id))
        assert row is not None and row.stripe_customer_id
        payer.customer = row.stripe_customer_id
    payer.subscription = "sub_test_" + uuid.uuid4().hex[:14]
    await deliver(client, event("checkout.session.completed", payer.checkout_completed(), 1))
    return payer


async def changes_recorded(client: AsyncClient, payer: Payer) -> int:
    async with sessions(client)() as session:
        found = await session.exec(
            select(AuditEvent).where(col(AuditEvent.kind) == crud.SUBSCRIPTION_CHANGED)
        )
        return sum(1 for e in found.all() if e.detail.get("account_id") == payer.account_id)


def test_stripe_python_accepts_the_tests_signature() -> None:
    payload = json.dumps(event("invoice.paid", {"object": "invoice"}, int(time.time())))
    verified = stripe.Webhook.construct_event(payload, signature(payload), WEBHOOK_SECRET)
    assert verified["type"] == "invoice.paid"


async def test_a_bad_signature_is_400_and_records_nothing(billing_client: AsyncClient) -> None:
    body = event("invoice.paid", {"object": "invoice"}, int(time.time()))
    response = await post_event(billing_client, body, secret="whsec_not_ours")
    assert response.status_code == 400
    unsigned = await billing_client.post("/api/v1/billing/webhook", content=json.dumps(body))
    assert unsigned.status_code == 400
    async with sessions(billing_client)() as session:
        assert await session.get(StripeEvent, body["id"]) is None


async def test_the_lifecycle_trial_active_past_due_canceled(billing_client: AsyncClient) -> None:
    client = billing_client
    payer = await subscribed(client)
    now = int(time.time())
    trial_end = now + 14 * DAY
    await deliver(
        client,
        event(
            "customer.subscription.created",
            payer.subscription_object("trialing", trial_end=trial_end),
            now,
        ),
    )
    state = await subscription(client, payer)
    assert (state["plan"], state["status"]) == ("pro", "trialing")
    assert state["trial_end"] is not None and state["max_items"] == 10000

    await deliver(
        client, event("customer.subscription.updated", payer.subscription_object("active"), now + 1)
    )
    await deliver(client, event("invoice.paid", payer.invoice_object(), now + 2))
    assert (await subscription(client, payer))["status"] == "active"

    # A failed payment: past_due keeps the plan for the grace days...
    await deliver(client, event("invoice.payment_failed", payer.invoice_object(), now + 3))
    state = await subscription(client, payer)
    assert (state["plan"], state["status"]) == ("pro", "past_due")
    assert state["past_due_grace_until"] is not None
    # ...and counts as free once they have run out.
    async with sessions(client)() as session:
        row = await session.get(Subscription, uuid.UUID(payer.account_id))
        assert row is not None and row.past_due_since is not None
        row.past_due_since -= timedelta(days=8)
        session.add(row)
        await session.commit()
    state = await subscription(client, payer)
    assert (state["plan"], state["subscribed_plan"], state["status"]) == ("free", "pro", "past_due")

    # Paid after all: the plan is back.
    await deliver(client, event("invoice.paid", payer.invoice_object(), now + 4))
    assert (await subscription(client, payer))["plan"] == "pro"

    await deliver(
        client,
        event("customer.subscription.deleted", payer.subscription_object("canceled"), now + 5),
    )
    state = await subscription(client, payer)
    assert (state["plan"], state["status"]) == ("free", "canceled")
    # trialing, active, past_due, active again, canceled (the first invoice.paid changed nothing)
    assert await changes_recorded(client, payer) == 5


async def test_a_replayed_event_is_acknowledged_and_changes_nothing(
    billing_client: AsyncClient,
) -> None:
    client = billing_client
    payer = await subscribed(client)
    now = int(time.time())
    active = event("customer.subscription.updated", payer.subscription_object("active"), now)
    await deliver(client, active)
    failed = event("invoice.payment_failed", payer.invoice_object(), now + 1)
    await deliver(client, failed)
    before = await subscription(client, payer)
    changes = await changes_recorded(client, payer)

    for _ in range(2):
        for replay in (active, failed):
            response = await post_event(client, replay)
            assert response.status_code == 200
            assert response.json()["detail"] == "Already received."
    await run_jobs(client)
    assert await subscription(client, payer) == before
    assert await changes_recorded(client, payer) == changes


async def test_an_older_event_never_overwrites_a_newer_state(billing_client: AsyncClient) -> None:
    client = billing_client
    payer = await subscribed(client)
    now = int(time.time())
    created = event("customer.subscription.created", payer.subscription_object("trialing"), now)
    updated = event("customer.subscription.updated", payer.subscription_object("active"), now + 5)
    failed = event("invoice.payment_failed", payer.invoice_object(), now + 3)
    # Delivered newest first, as Stripe may.
    await deliver(client, updated, failed, created)
    state = await subscription(client, payer)
    assert (state["plan"], state["status"]) == ("pro", "active")
    async with sessions(client)() as session:
        for body in (updated, failed, created):
            recorded = await session.get(StripeEvent, body["id"])
            assert recorded is not None and recorded.processed_at is not None


async def test_upgrade_and_downgrade(billing_client: AsyncClient) -> None:
    client = billing_client
    payer = await subscribed(client)
    now = int(time.time())
    await deliver(
        client, event("customer.subscription.created", payer.subscription_object("active"), now)
    )
    upgrade = payer.subscription_object("active", plan="business")
    await deliver(client, event("customer.subscription.updated", upgrade, now + 1))
    state = await subscription(client, payer)
    assert (state["plan"], state["max_items"]) == ("business", 0)
    downgrade = payer.subscription_object("active", plan="pro")
    await deliver(client, event("customer.subscription.updated", downgrade, now + 2))
    assert (await subscription(client, payer))["plan"] == "pro"


async def test_cancel_at_period_end_keeps_the_plan_until_then(billing_client: AsyncClient) -> None:
    client = billing_client
    payer = await subscribed(client)
    now = int(time.time())
    period_end = now + 10 * DAY
    cancelling = payer.subscription_object(
        "active", period_end=period_end, cancel_at_period_end=True
    )
    await deliver(client, event("customer.subscription.updated", cancelling, now))
    state = await subscription(client, payer)
    assert (state["plan"], state["cancel_at_period_end"]) == ("pro", True)
    # The period ends (Stripe then deletes the subscription; until it does, the end counts).
    async with sessions(client)() as session:
        row = await session.get(Subscription, uuid.UUID(payer.account_id))
        assert row is not None
        row.current_period_end = row.current_period_end - timedelta(days=11)  # type: ignore[operator]
        session.add(row)
        await session.commit()
    assert (await subscription(client, payer))["plan"] == "free"
    ended = event("customer.subscription.deleted", payer.subscription_object("canceled"), now + 1)
    await deliver(client, ended)
    assert (await subscription(client, payer))["status"] == "canceled"
