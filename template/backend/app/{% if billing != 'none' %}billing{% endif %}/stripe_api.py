"""The one module that calls Stripe (stripe-python's StripeClient). Every failure to reach it, and
a project without STRIPE_SECRET_KEY, is `StripeUnavailable`: the routes answer 503 + Retry-After.
Tests point STRIPE_API_BASE at a fake."""

import logging
from typing import Any

import stripe

from app.core.config import Settings

logger = logging.getLogger(__name__)

# Seconds the client waits for Stripe; a route answers 503 after that.
TIMEOUT_SECONDS = 10
RETRY_AFTER_SECONDS = 30


class StripeUnavailable(Exception):
    """Stripe is not configured or did not answer; its text is safe to show a user."""


def failed(error: stripe.StripeError) -> StripeUnavailable:
    """A failed call as a user hears of it: never Stripe's own words, which can quote the key, ids
    or the request's input. The log names the error and Stripe's request id to look it up by."""
    logger.warning(
        "A call to Stripe failed: %s, HTTP %s, code %s, request %s",
        type(error).__name__,
        error.http_status,
        error.code,
        error.request_id,
    )
    return StripeUnavailable("Stripe did not complete the request.")


def configured(settings: Settings) -> bool:
    return bool(settings.stripe_secret_key)


def client(settings: Settings) -> stripe.StripeClient:
    if not configured(settings):
        raise StripeUnavailable("Billing is not configured (STRIPE_SECRET_KEY is unset).")
    return stripe.StripeClient(
        settings.stripe_secret_key,
        base_addresses={"api": settings.stripe_api_base},
        http_client=stripe.HTTPXClient(timeout=TIMEOUT_SECONDS),
        max_network_retries=1,
    )


async def create_customer(settings: Settings, email: str, account_id: str) -> str:
    """A Stripe customer for the payer; its id."""
    try:
        customer = await client(settings).v1.customers.create_async(
            params={"email": email, "metadata": {"account_id": account_id}}
        )
    except stripe.StripeError as error:
        raise failed(error) from error
    return customer.id


async def checkout_url(
    settings: Settings,
    *,
    customer_id: str,
    price_id: str,
    account_id: str,
    plan: str,
    trial_days: int,
    return_url: str,
) -> str:
    """The URL of a Checkout Session (subscription mode) for `price_id`."""
    subscription_data: dict[str, Any] = {"metadata": {"account_id": account_id, "plan": plan}}
    if trial_days:
        subscription_data["trial_period_days"] = trial_days
    try:
        session = await client(settings).v1.checkout.sessions.create_async(
            params={
                "mode": "subscription",
                "customer": customer_id,
                "client_reference_id": account_id,
                "line_items": [{"price": price_id, "quantity": 1}],
                "subscription_data": subscription_data,  # type: ignore[typeddict-item]
                "metadata": {"account_id": account_id, "plan": plan},
                "success_url": f"{return_url}?checkout=done",
                "cancel_url": f"{return_url}?checkout=cancelled",
            }
        )
    except stripe.StripeError as error:
        raise failed(error) from error
    return str(session.url)


async def portal_url(settings: Settings, *, customer_id: str, return_url: str) -> str:
    """The URL of a Customer Portal session: change plan, cancel, payment method, invoices."""
    try:
        session = await client(settings).v1.billing_portal.sessions.create_async(
            params={"customer": customer_id, "return_url": return_url}
        )
    except stripe.StripeError as error:
        raise failed(error) from error
    return str(session.url)


def verified_event(settings: Settings, payload: bytes, signature: str) -> dict[str, Any]:
    """The event Stripe sent, once its Stripe-Signature matches the raw body (no network call).
    Raises ValueError for a bad signature or body, StripeUnavailable without the secret."""
    if not settings.stripe_webhook_secret:
        raise StripeUnavailable("Billing is not configured (STRIPE_WEBHOOK_SECRET is unset).")
    try:
        event = stripe.Webhook.construct_event(
            payload.decode("utf-8"), signature, settings.stripe_webhook_secret
        )
    except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError) as error:
        raise ValueError(str(error)) from error
    return event.to_dict()
