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
REDIS_DATABASES = {"update": 12, "bench": 13, "api": 14, "monitoring": 15}
assert len(VARIANTS) < min(REDIS_DATABASES.values()), "variants would share a Redis database"


def variant_id(variant: Mapping) -> str:
    """How a variant is named in nox sessions and pytest ids: "mvp, frontend"."""
    return f"{variant['tier']}, {'frontend' if variant['frontend'] else 'api-only'}"


def variant_redis_database(tier: str, frontend: bool) -> int:
    keys = [(variant["tier"], variant["frontend"]) for variant in VARIANTS]
    return keys.index((tier, frontend)) + 1
