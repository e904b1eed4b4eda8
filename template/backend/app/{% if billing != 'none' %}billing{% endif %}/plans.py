"""The plans of plans.toml, read once; the free plan is the one without a Stripe price."""

import tomllib
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field

from app.core.config import Settings

PLANS_FILE = Path(__file__).with_name("plans.toml")
FREE = "free"


class Plan(BaseModel):
    key: str
    name: str
    monthly_price: str
    price_setting: str | None = None
    trial_days: int = Field(default=0, ge=0)
    past_due_grace_days: int = Field(default=0, ge=0)
    # 0 is unlimited.
    max_items: int = Field(default=0, ge=0)
    max_members: int = Field(default=0, ge=0)

    @property
    def free(self) -> bool:
        return self.price_setting is None

    def price_id(self, settings: Settings) -> str:
        """The Stripe price id the settings give this plan ("" when unset or free)."""
        return str(getattr(settings, self.price_setting, "") or "") if self.price_setting else ""


@cache
def plans() -> dict[str, Plan]:
    table = tomllib.loads(PLANS_FILE.read_text())["plans"]
    found = {key: Plan(key=key, **values) for key, values in table.items()}
    if FREE not in found or not found[FREE].free:
        raise ValueError(f"{PLANS_FILE} needs a [plans.{FREE}] without a price_setting")
    return found


def plan_for_price(settings: Settings, price_id: str | None) -> Plan | None:
    """The plan whose configured Stripe price is `price_id`."""
    return next(
        (plan for plan in plans().values() if price_id and plan.price_id(settings) == price_id),
        None,
    )
