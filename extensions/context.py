"""Copier extension: the tier profiles from tiers.toml, exposed to questions and templates.

Loaded by path from copier.yml. Pure helpers (``load_tiers``, ``monthly_estimate``) are also
imported by the template's own tests, so nothing here may depend on a render being under way.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from copier_template_extensions import ContextHook

TIERS_FILE = Path(__file__).with_name("tiers.toml")
SHARED_FILE = Path(__file__).with_name("shared.toml")
# The CPU time of one read, as `nox -s bench` last recorded it (tests/benchmarks.py writes it).
CAPACITY_FILE = Path(__file__).with_name("capacity.json")
SECONDS_PER_MONTH = 30 * 24 * 3600
# How a founder runs copier on a fresh machine: the template loads copier-template-extensions.
COPIER_COMMAND = "uvx --with copier-template-extensions copier"
# Redis clients beyond the API workers' pools: redis-cli, a deploy's overlapping old workers.
REDIS_SPARE_CLIENTS = 20


@cache
def load_tiers() -> dict[str, Any]:
    """The parsed tiers.toml (prices, variants, tiers), with the derived limits filled in."""
    with TIERS_FILE.open("rb") as file:
        data = tomllib.load(file)
    for profile in data["tiers"].values():
        for line in profile["costs"].values():
            complete_cost_line(line, profile)
        limit = redis_memory_limit_mb(profile["redis"])
        if "memory_limits_mb" in profile:  # compose containers (mvp)
            profile["memory_limits_mb"]["redis"] = limit
        redis = profile["redis"]
        redis["maxclients"] = (
            redis["max_connections"] * profile["api_workers"] + REDIS_SPARE_CLIENTS
        )
        if "postgres" in profile:  # the db container (mvp)
            # Docker's 64 MB /dev/shm is too small: shared_buffers and as much for parallel queries.
            profile["postgres"]["shm_size_mb"] = profile["postgres"]["shared_buffers_mb"] * 2
        if "pod_memory_mb" in profile:  # Kubernetes pods (growth)
            profile["pod_memory_mb"]["redis_limit"] = limit
    return data


@cache
def load_shared() -> dict[str, Any]:
    """The parsed shared.toml: facts stated in several generated files (images, headers...)."""
    with SHARED_FILE.open("rb") as file:
        return tomllib.load(file)


def images(tier: str) -> dict[str, str]:
    """The third-party images (shared.toml) as `tier` runs them: PostgreSQL at its major version."""
    profile = load_tiers()["tiers"][tier]
    return {name: image.format(**profile) for name, image in load_shared()["images"].items()}


def redis_memory_limit_mb(redis: dict[str, Any]) -> int:
    """Redis's container memory limit: maxmemory plus the tier's stated headroom (0 if none)."""
    headroom = redis.get("container_headroom_percent", 0)
    return math.ceil(redis["maxmemory_mb"] * (100 + headroom) / 100)


def complete_cost_line(line: dict[str, Any], profile: Mapping[str, Any]) -> None:
    """Fill a cost line's derived `usd` and `size`: a per-unit line is usd_each x the profile's
    count, a storage line's size is the storage its plan includes, a per-GB line is usd_per_gb x
    the GB of the profile's table it names (rounded up to whole dollars)."""
    if "count_of" in line:
        line["count"] = profile[line["count_of"]]
        line["usd"] = line["usd_each"] * line["count"]
        line["size"] = f"{line['count']} x {line['size']}"
    if "included_gb" in line:
        line["size"] = f"{line['included_gb']} GB stored"
    if "gb_of" in line:
        line["gb"] = sum(profile[line["gb_of"]].values())
        line["usd"] = math.ceil(line["gb"] * line["usd_per_gb"])
        line["size"] = f"{line['gb']} GB"


def monthly_estimate(tier: str) -> int:
    """The tier's monthly estimate in USD: the sum of its cost lines."""
    return sum(line["usd"] for line in load_tiers()["tiers"][tier]["costs"].values())


def next_tier(tier: str) -> str | None:
    """The tier a project graduates to from `tier` (None for the largest)."""
    tiers = load_tiers()["tiers"]
    larger = [name for name in tiers if tiers[name]["order"] > tiers[tier]["order"]]
    return min(larger, key=lambda name: tiers[name]["order"], default=None)


def bill_growth(tier: str) -> dict[str, Any]:
    """What makes `tier`'s bill grow, in USD per month at the list prices of tiers.toml:
    the figures docs/costs.md explains (empty for a tier that hosts nothing)."""
    profile = load_tiers()["tiers"][tier]
    costs = profile["costs"]
    figures: dict[str, Any] = {}
    if "spaces" in costs:
        spaces = costs["spaces"]
        retention_days = profile["backup"]["retention_days"]
        figures["backups"] = {
            "retention_days": retention_days,
            # A daily dump is kept retention_days times: the largest that the plan's storage holds.
            "dump_gb_included": round(spaces["included_gb"] / retention_days, 1),
            "usd_per_dump_gb": round(spaces["extra_gb_usd"] * retention_days, 2),
        }
    if "memory_limits_mb" in profile:  # one droplet: its RAM is the budget
        used_mb = sum(profile["memory_limits_mb"].values()) + profile["system_reserve_mb"]
        step = profile["growth_steps"]["next_droplet"]
        figures["memory"] = {
            "used_mb": used_mb,
            "free_mb": profile["droplet_ram_mb"] - used_mb,
            "api_worker_mb": profile["memory_limits_mb"]["api"] // profile["api_workers"],
        }
        figures["next_droplet"] = {**step, "step_usd": step["usd"] - costs["droplet"]["usd"]}
    if "nodes" in costs:  # a cluster: API pods take node capacity, nodes are billed whole
        node_cpu = profile["growth_steps"]["node_cpu_millicores"]
        pod_cpu = profile["pod_cpu_millicores"]["api_request"]
        extra_pods = profile["api_replicas_max"] - profile["api_replicas_min"]
        node_usd = costs["nodes"]["usd_each"]
        figures["api_pods"] = {
            "pod_usd": round(node_usd * pod_cpu / node_cpu, 2),
            "extra_pods_at_max": extra_pods,
            "extra_nodes_at_max": math.ceil(extra_pods * pod_cpu / node_cpu),
            "node_usd": node_usd,
        }
        figures["api_pods"]["peak_usd"] = figures["api_pods"]["extra_nodes_at_max"] * node_usd
        today_usd = costs["database"]["usd"] + costs["replica"]["usd"]
        figures["database_plans"] = [
            {**plan, "with_replica_usd": 2 * plan["usd"], "step_usd": 2 * plan["usd"] - today_usd}
            for plan in profile["growth_steps"]["database_plans"]
        ]
    return figures


@cache
def load_capacity() -> dict[str, Any]:
    """The bench's recorded figures (capacity.json): CPU us per cached and uncached read."""
    return json.loads(CAPACITY_FILE.read_text())


def api_cores(profile: Mapping[str, Any]) -> float:
    """The CPU cores the tier's bill gives the API: the API container's limit on the droplet, or
    the minimum API pods at their CPU limit on the cluster; 0 where nothing is hosted."""
    if "cpu_limits" in profile:  # compose on one droplet (mvp)
        return float(profile["cpu_limits"]["api"])
    if "pod_cpu_millicores" in profile:  # Kubernetes (growth)
        return profile["api_replicas_min"] * profile["pod_cpu_millicores"]["api_limit"] / 1000
    return 0.0


def capacity(tier: str) -> dict[str, Any]:
    """What the tier's bill buys in reads, from the bench's figures: per read (cached, uncached)
    the CPU us it takes, the reads a second one core and the tier's API cores serve flat out, and
    the bill per million reads at that rate. On one droplet (mvp) Redis and PostgreSQL share the
    API's vCPU, so their CPU counts too; on a cluster they run on their own CPUs."""
    profile = load_tiers()["tiers"][tier]
    figures = load_capacity()
    cores = api_cores(profile)
    shared_machine = "cpu_limits" in profile or cores == 0
    reads = {}
    for read, cpu in figures["cpu_us_per_request"].items():
        cpu_us = sum(us for name, us in cpu.items() if shared_machine or name == "api")
        per_core = math.floor(1e6 / cpu_us)
        per_second = math.floor(cores * 1e6 / cpu_us)
        usd = monthly_estimate(tier) / (per_second * SECONDS_PER_MONTH / 1e6) if per_second else 0
        reads[read] = {
            "cpu_us": cpu_us,
            "per_core_per_second": per_core,
            "per_second": per_second,
            "usd_per_million": float(f"{usd:.2g}"),
        }
    return {"cores": cores, "reads": reads, "recorded": figures}


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


def app_secrets(sign_in_with: Sequence[str], billing: str = "none") -> list[dict[str, Any]]:
    """The Secret's keys that the API and the job worker read on growth, each passed to both by
    name (k8s/api.yaml, k8s/worker.yaml); optional ones may be left out of the Secret."""
    names = ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SMTP_PASSWORD"]
    for provider in sign_in_with:
        key = f"OAUTH__{provider.upper()}__"
        names += [f"{key}ISSUER"] if provider == "oidc" else []
        names += [f"{key}CLIENT_ID", f"{key}CLIENT_SECRET"]
    # Without DATABASE_READ_URL every read is on the primary.
    optional = ["DATABASE_READ_URL", "SENTRY_DSN", "OTEL_EXPORTER_OTLP_HEADERS"]
    # Without Stripe's keys billing answers 503 and everyone is on the free plan.
    if billing != "none":
        optional += ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"]
        optional += ["STRIPE_PRICE_PRO", "STRIPE_PRICE_BUSINESS"]
    return [{"name": name, "optional": False} for name in names] + [
        {"name": name, "optional": True} for name in optional
    ]


class ContextUpdater(ContextHook):
    """Adds ``tiers`` (all profiles), ``prices`` and, once ``tier`` is answered, ``profile``."""

    def hook(self, context: dict[str, Any]) -> None:
        data = load_tiers()
        context["tiers"] = data["tiers"]
        context["prices"] = data["prices"]
        context["tier_label"] = tier_label
        context["monthly_estimate"] = monthly_estimate
        context["next_tier"] = next_tier
        context["bill_growth"] = bill_growth
        context["capacity"] = capacity
        context["tier_refusal"] = tier_refusal
        context["copier_command"] = COPIER_COMMAND
        context["security_headers"] = load_shared()["security_headers"]
        context["loadtest"] = load_shared()["loadtest"]
        context["cloudflare"] = load_shared()["cloudflare"]
        context["app_secrets"] = app_secrets
        # The hook also runs while questions are asked, before `tier` has an answer.
        tier = context.get("tier")
        if tier in data["tiers"]:
            context["profile"] = data["tiers"][tier]
            context["profile_monthly_usd"] = monthly_estimate(tier)
            context["profile_capacity"] = capacity(tier)
            context["images"] = images(tier)
