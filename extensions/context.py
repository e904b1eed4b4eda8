"""Copier extension: the tier profiles from tiers.toml, exposed to questions and templates.

Loaded by path from copier.yml. Pure helpers (``load_tiers``, ``monthly_estimate``) are also
imported by the template's own tests, so nothing here may depend on a render being under way.
"""

from __future__ import annotations

import math
import secrets
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from copier_template_extensions import ContextHook

TIERS_FILE = Path(__file__).with_name("tiers.toml")
# How a founder runs copier on a fresh machine: the template loads copier-template-extensions.
COPIER_COMMAND = "uvx --with copier-template-extensions copier"


@cache
def load_tiers() -> dict[str, Any]:
    """The parsed tiers.toml (prices, variants, tiers), with the derived limits filled in."""
    with TIERS_FILE.open("rb") as file:
        data = tomllib.load(file)
    for profile in data["tiers"].values():
        limit = redis_memory_limit_mb(profile["redis"])
        if "memory_limits_mb" in profile:  # compose containers (mvp)
            profile["memory_limits_mb"]["redis"] = limit
        if "pod_memory_mb" in profile:  # Kubernetes pods (growth)
            profile["pod_memory_mb"]["redis_limit"] = limit
    return data


def redis_memory_limit_mb(redis: dict[str, Any]) -> int:
    """Redis's container memory limit: maxmemory plus the tier's stated headroom (0 if none)."""
    headroom = redis.get("container_headroom_percent", 0)
    return math.ceil(redis["maxmemory_mb"] * (100 + headroom) / 100)


def monthly_estimate(tier: str) -> int:
    """The tier's monthly estimate in USD: the sum of its cost lines."""
    return sum(line["usd"] for line in load_tiers()["tiers"][tier]["costs"].values())


def tier_label(tier: str) -> str:
    """How a tier is shown in the question: name, what it runs on, monthly estimate."""
    profile = load_tiers()["tiers"][tier]
    return f"{tier}: {profile['summary']} (about ${monthly_estimate(tier)}/month)"


def tier_refusal(tier: str, previous_answers: Mapping[str, Any]) -> str:
    """Why `tier` cannot be chosen for a project last rendered with `previous_answers` ("" if it
    can): graduating is one way, since moving down would delete the bigger tier's files."""
    tiers = load_tiers()["tiers"]
    previous = previous_answers.get("tier")
    if (
        previous not in tiers
        or tier not in tiers
        or tiers[tier]["order"] >= tiers[previous]["order"]
    ):
        return ""
    return (
        f"Moving down from the {previous} tier to {tier} is not supported: keep tier={previous}, "
        'or start a new project with `copier copy` (see "Upgrading and graduating" in the docs).'
    )


def new_secret(length: int = 32) -> str:
    """A fresh random secret, URL-safe, for the generated .env (never stored in answers)."""
    return secrets.token_urlsafe(length)


class ContextUpdater(ContextHook):
    """Adds ``tiers`` (all profiles), ``prices`` and, once ``tier`` is answered, ``profile``."""

    def hook(self, context: dict[str, Any]) -> None:
        data = load_tiers()
        context["tiers"] = data["tiers"]
        context["prices"] = data["prices"]
        context["tier_label"] = tier_label
        context["monthly_estimate"] = monthly_estimate
        context["new_secret"] = new_secret
        context["tier_refusal"] = tier_refusal
        context["copier_command"] = COPIER_COMMAND
        # The hook also runs while questions are asked, before `tier` has an answer.
        tier = context.get("tier")
        if tier in data["tiers"]:
            context["profile"] = data["tiers"][tier]
            context["profile_monthly_usd"] = monthly_estimate(tier)
