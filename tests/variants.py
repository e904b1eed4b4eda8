"""The curated variant table (tiers.toml's [[variants]]) and the Redis database each nox session
uses, for nox and pytest alike (this module needs neither)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

TIERS_FILE = Path(__file__).resolve().parents[1] / "extensions" / "tiers.toml"
VARIANTS: list[dict] = tomllib.loads(TIERS_FILE.read_text())["variants"]

# Redis database numbers, so that sessions running at once never see each other's keys: a variant
# session uses its 1-based place in VARIANTS, each other session that serves an API one of these.
REDIS_DATABASES = {
    "bench_before": 10,
    "bench_now": 11,
    "update": 12,
    "bench": 13,
    "api": 14,
    "monitoring": 15,
}
assert len(VARIANTS) < min(REDIS_DATABASES.values()), "variants would share a Redis database"


def variant_key(variant: Mapping) -> tuple[str, bool, str, tuple[str, ...], bool, str]:
    """What tells variants apart: tier, frontend, Python version, sign-in providers, teams and
    billing."""
    return (
        variant["tier"],
        variant["frontend"],
        variant["python_version"],
        tuple(variant.get("sign_in_with", ())),
        bool(variant.get("teams", False)),
        variant.get("billing", "none"),
    )


def variant_id(variant: Mapping) -> str:
    """How a variant (or any combination of answers) is named in nox sessions, pytest ids and
    reports: "dev, frontend, py3.12", "growth, api-only, py3.13, google+oidc, teams, stripe"."""
    tier, frontend, python_version, sign_in_with, teams, billing = variant_key(variant)
    parts = [tier, "frontend" if frontend else "api-only", f"py{python_version}"]
    parts += ["+".join(sign_in_with)] if sign_in_with else []
    parts += ["teams"] if teams else []
    return ", ".join(parts + ([billing] if billing != "none" else []))


def variant_answers(variant: Mapping) -> dict[str, object]:
    """The answers that render `variant` (sign_in_with, teams, billing only where the variant sets
    them)."""
    tier, frontend, python_version, sign_in_with, teams, billing = variant_key(variant)
    answers: dict[str, object] = {
        "tier": tier, "frontend": frontend, "python_version": python_version
    }  # fmt: skip
    if sign_in_with:
        answers["sign_in_with"] = list(sign_in_with)
    if teams:
        answers["teams"] = True
    if billing != "none":
        answers["billing"] = billing
    return answers


def variant_redis_database(variant_key_: tuple) -> int:
    return [variant_key(variant) for variant in VARIANTS].index(variant_key_) + 1


def variant_once(variant_key_: tuple) -> frozenset[str]:
    """The checks that run on this variant only (tiers.toml's `once`)."""
    return frozenset(VARIANTS[variant_redis_database(variant_key_) - 1].get("once", ()))


def variant_runs_browser(variant: Mapping) -> bool:
    """Whether the variant's browser suite runs (a frontend, and no `browser = false`)."""
    return bool(variant["frontend"]) and variant.get("browser", True)


ONCE_CHECKS = frozenset({"guide", "lighthouse", "make_dev", "migration", "pgbouncer"})
