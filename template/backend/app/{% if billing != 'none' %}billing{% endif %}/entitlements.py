"""What a plan grants, where it bites: the plan in force for a payer now, and the item limit.
A trial or an active subscription has its plan; past_due keeps it for the plan's grace days;
cancel at period end keeps it until the period ends; anything else is the free plan."""

import uuid
from datetime import datetime, timedelta

from fastapi import status
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api.errors import CodedError, ErrorCode
from app.billing.models import Subscription
from app.billing.plans import FREE, Plan, plans
from app.core.db import utcnow

PAID_STATUSES = frozenset({"trialing", "active", "past_due"})


def grace_until(row: Subscription) -> datetime | None:
    """When a past_due subscription stops counting as its plan."""
    if row.status != "past_due" or row.past_due_since is None:
        return None
    grace = plans().get(row.plan, plans()[FREE]).past_due_grace_days
    return row.past_due_since + timedelta(days=grace)


def plan_in_force(row: Subscription | None, now: datetime | None = None) -> Plan:
    now = now or utcnow()
    catalogue = plans()
    if row is None or row.status not in PAID_STATUSES or row.plan not in catalogue:
        return catalogue[FREE]
    if row.status == "past_due" and (until := grace_until(row)) is not None and now >= until:
        return catalogue[FREE]
    if row.cancel_at_period_end and row.current_period_end and now >= row.current_period_end:
        return catalogue[FREE]
    return catalogue[row.plan]


def plan_limit(plan: Plan, limit: int) -> CodedError:
    return CodedError(
        status.HTTP_403_FORBIDDEN,
        ErrorCode.PLAN_LIMIT,
        f"The {plan.name} plan holds at most {limit} items: upgrade to add more.",
    )


async def check_item_limit(session: AsyncSession, account_id: uuid.UUID, used: int) -> None:
    """403 `plan_limit` when the payer, holding `used` items, has no room for one more."""
    plan = plan_in_force(await session.get(Subscription, account_id))
    if plan.max_items and used >= plan.max_items:
        raise plan_limit(plan, plan.max_items)
