"""Billing with Stripe: plans (plans.toml), Checkout and the Customer Portal, signed webhooks
applied once and in order by a job, and the entitlements the plans grant (entitlements.py)."""
