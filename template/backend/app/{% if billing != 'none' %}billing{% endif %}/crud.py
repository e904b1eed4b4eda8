"""Billing's reads and writes: the subscription rows, the events received, and how an event
changes a subscription. A replayed event is found by its id and changes nothing; an event older
than the state a subscription holds (Stripe's `created`) changes nothing either."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import audit
from app.billing.models import StripeEvent, Subscription
from app.billing.plans import plan_for_price, plans
from app.core.config import Settings
from app.core.db import utcnow

# The audit events of billing; KINDS as the admin page names them (AUDIT_KINDS in admin-page.js).
SUBSCRIPTION_CHANGED = "billing.subscription_changed"
CHECKOUT_STARTED = "billing.checkout_started"
KINDS = (SUBSCRIPTION_CHANGED, CHECKOUT_STARTED)
# What each event type does; the webhook records any other type and the job ignores it.
HANDLED = frozenset(
    {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.paid",
        "invoice.payment_failed",
    }
)


def at(timestamp: int | None) -> datetime | None:
    """A Stripe time (seconds since the epoch) as a UTC datetime."""
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


async def subscription_of(session: AsyncSession, account_id: uuid.UUID) -> Subscription | None:
    return await session.get(Subscription, account_id)


async def payer_row(session: AsyncSession, account_id: uuid.UUID) -> Subscription:
    """The payer's row, made (free, no customer yet) when it has none."""
    found = await session.get(Subscription, account_id)
    if found is None:
        found = Subscription(account_id=account_id)
        session.add(found)
    return found


async def record_event(session: AsyncSession, event: dict[str, Any]) -> StripeEvent | None:
    """Add the event to the session; None when its id was recorded before (a replay)."""
    if await session.get(StripeEvent, event["id"]) is not None:
        return None
    row = StripeEvent(
        id=event["id"], type=event["type"], created=at(event["created"]), payload=event
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # the same event, delivered twice at once
        await session.rollback()
        return None
    return row


def _account_id(obj: dict[str, Any]) -> uuid.UUID | None:
    """The payer an object names: checkout's client_reference_id or the metadata we set."""
    candidate = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("account_id")
    try:
        return uuid.UUID(str(candidate)) if candidate else None
    except ValueError:
        return None


def _subscription_id(obj: dict[str, Any]) -> str | None:
    """An invoice's subscription (at its top level, or under `parent` since API 2025-03-31)."""
    if obj.get("object") == "subscription":
        return obj.get("id")
    details = (obj.get("parent") or {}).get("subscription_details") or {}
    return obj.get("subscription") or details.get("subscription")


async def _row_for(session: AsyncSession, obj: dict[str, Any]) -> Subscription | None:
    """The subscription row an event's object belongs to, locked for this transaction."""
    account_id = _account_id(obj)
    if account_id is not None:
        return await session.get(Subscription, account_id, with_for_update=True)
    customer = obj.get("customer")
    if not customer:
        return None
    found = await session.exec(
        select(Subscription)
        .where(col(Subscription.stripe_customer_id) == customer)
        .with_for_update()
    )
    return found.first()


def _period_end(obj: dict[str, Any]) -> datetime | None:
    """A subscription's period end (on its items since API 2025-03-31, on it before)."""
    if obj.get("current_period_end"):
        return at(obj["current_period_end"])
    items = (obj.get("items") or {}).get("data") or []
    return at(items[0].get("current_period_end")) if items else None


def _apply_subscription(
    row: Subscription, obj: dict[str, Any], event_type: str, settings: Settings, now: datetime
) -> None:
    items = (obj.get("items") or {}).get("data") or []
    price_id = (items[0].get("price") or {}).get("id") if items else None
    plan = plan_for_price(settings, price_id)
    metadata_plan = (obj.get("metadata") or {}).get("plan")
    row.plan = plan.key if plan else metadata_plan if metadata_plan in plans() else row.plan
    row.stripe_subscription_id = obj.get("id")
    row.stripe_customer_id = obj.get("customer") or row.stripe_customer_id
    row.status = "canceled" if event_type == "customer.subscription.deleted" else obj["status"]
    row.trial_end = at(obj.get("trial_end"))
    row.current_period_end = _period_end(obj)
    row.cancel_at_period_end = bool(obj.get("cancel_at_period_end"))
    if row.status == "past_due":
        row.past_due_since = row.past_due_since or now
    else:
        row.past_due_since = None


async def apply_event(session: AsyncSession, settings: Settings, event_id: str) -> str:
    """Apply a recorded event once, and commit; what it did ("applied", "stale", ...)."""
    event = await session.get(StripeEvent, event_id, with_for_update=True)
    if event is None or event.processed_at is not None:
        return "done before"
    outcome = await _apply(session, settings, event)
    event.processed_at = utcnow()
    session.add(event)
    await session.commit()
    return outcome


async def _apply(session: AsyncSession, settings: Settings, event: StripeEvent) -> str:
    if event.type not in HANDLED:
        return "ignored"
    obj: dict[str, Any] = event.payload["data"]["object"]
    row = await _row_for(session, obj)
    if row is None:
        return "no such payer"
    if event.type == "checkout.session.completed":
        # Links the customer and subscription; their state comes with the subscription's events.
        row.stripe_customer_id = obj.get("customer") or row.stripe_customer_id
        row.stripe_subscription_id = obj.get("subscription") or row.stripe_subscription_id
        session.add(row)
        return "linked"
    if row.state_at is not None and event.created < row.state_at:
        return "stale"
    if event.type.startswith("invoice.") and _subscription_id(obj) not in {
        None,
        row.stripe_subscription_id,
    }:
        return "another subscription"
    before = (row.plan, row.status, row.cancel_at_period_end)
    if event.type.startswith("customer.subscription."):
        _apply_subscription(row, obj, event.type, settings, event.created)
    elif event.type == "invoice.paid" and row.status in {"past_due", "unpaid", "incomplete"}:
        row.status, row.past_due_since = "active", None
    elif event.type == "invoice.payment_failed" and row.status not in {"canceled", "none"}:
        row.status = "past_due"
        row.past_due_since = row.past_due_since or event.created
    row.state_at = event.created
    row.updated_at = utcnow()
    session.add(row)
    after = (row.plan, row.status, row.cancel_at_period_end)
    if after != before:
        audit.record(
            session,
            SUBSCRIPTION_CHANGED,
            account_id=str(row.account_id),
            stripe_event=event.id,
            event_type=event.type,
            plan_before=before[0],
            plan=row.plan,
            status_before=before[1],
            status=row.status,
            cancel_at_period_end=row.cancel_at_period_end,
        )
    return "applied"
