"""The tier data file is complete and its budgets add up; questions show its numbers."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import ROOT, TIERS, VARIANTS

from extensions.context import capacity, load_tiers, monthly_estimate, tier_label
from tests.variants import ONCE_CHECKS, variant_key, variant_runs_browser

TTL_CLASSES = ["high_change", "medium_change", "low_change"]


@pytest.mark.parametrize("tier", sorted(TIERS))
def test_profile_has_every_setting_the_templates_use(tier) -> None:
    profile = TIERS[tier]
    assert list(profile["cache_ttl_seconds"]) == TTL_CLASSES
    ttls = [profile["cache_ttl_seconds"][name] for name in TTL_CLASSES]
    assert ttls == sorted(ttls) and ttls[0] > 0, "faster-changing data must expire sooner"
    assert profile["redis"]["policy"] == "allkeys-lru"
    assert profile["redis"]["maxmemory_mb"] > 0
    assert profile["db_pool"]["size"] > 0 and profile["db_pool"]["timeout_seconds"] > 0
    assert profile["api_workers"] >= 1
    # A request holds one Redis connection at a time: shed before any would wait for one.
    assert 1 <= profile["api_max_in_flight"] <= profile["redis"]["max_connections"]
    limits = profile["request_limits"]
    assert limits["max_body_kb"] > 0 and limits["max_header_kb"] > 0
    assert limits["body_timeout_seconds"] > 0
    rate_limit = profile["rate_limit"]
    assert rate_limit["login_per_email_per_minute"] > rate_limit["login_per_minute"]


def test_estimates_match_the_tier_promises() -> None:
    assert monthly_estimate("dev") == 0
    assert 15 <= monthly_estimate("mvp") <= 20
    assert monthly_estimate("growth") >= 110
    prices = load_tiers()["prices"]
    assert prices["as_of"] and prices["source"], "prices need a date and a source"


def test_mvp_containers_fit_the_droplet() -> None:
    mvp = TIERS["mvp"]
    used = sum(mvp["memory_limits_mb"].values()) + mvp["system_reserve_mb"]
    assert used <= mvp["droplet_ram_mb"], f"{used} MB of limits + reserve > {mvp['droplet_ram_mb']}"


def test_mvp_pool_fits_postgres_connections() -> None:
    mvp = TIERS["mvp"]
    per_worker = mvp["db_pool"]["size"] + mvp["db_pool"]["max_overflow"]
    # The job worker: one connection per concurrent job (app/worker.py) + the queue's own
    # QUEUE_CONNECTIONS (app/jobs/queue.py).
    job_worker = mvp["jobs"]["concurrency"] + 4
    used = mvp["api_workers"] * per_worker + job_worker
    assert used < mvp["db_pool"]["postgres_max_connections"]


def test_growth_pgbouncer_fits_the_managed_database_connections() -> None:
    pool = TIERS["growth"]["db_pool"]
    server = pool["pgbouncer_replicas"] * pool["pgbouncer_default_pool_size"]
    used = server + pool["direct_connections"]
    assert used <= pool["managed_postgres_connections"], f"{used} connections of the plan's limit"


def test_growth_pgbouncer_replicas_are_rendered(render) -> None:
    project = render(tier="growth")
    documents = yaml.safe_load_all((project / "k8s" / "pgbouncer.yaml").read_text())
    deployment = next(item for item in documents if item["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == TIERS["growth"]["db_pool"]["pgbouncer_replicas"]


def test_growth_autoscaling_bounds() -> None:
    growth = TIERS["growth"]
    assert 2 <= growth["api_replicas_min"] <= growth["api_replicas_max"]


def test_each_once_check_runs_on_exactly_one_variant_that_can_run_it() -> None:
    runs = [(name, variant) for variant in VARIANTS for name in variant.get("once", ())]
    assert sorted(name for name, _ in runs) == sorted(ONCE_CHECKS)
    for name, variant in runs:
        # Lighthouse and `make dev`'s sign-up need the browser suite (make_dev on a tier whose
        # .env once linked to production), PgBouncer is growth's; a migration runs anywhere.
        needs = {
            "lighthouse": variant_runs_browser(variant),
            "make_dev": variant_runs_browser(variant) and variant["tier"] != "dev",
            "pgbouncer": variant["tier"] == "growth",
        }
        assert needs.get(name, True), (name, variant)


def test_variant_table_covers_every_tier_once_with_the_frontend() -> None:
    keys = [variant_key(variant) for variant in VARIANTS]
    assert len(keys) == len(set(keys))
    assert {tier for tier, frontend, *_ in keys if frontend} == set(TIERS)


def test_the_browser_runs_cover_every_tier_and_provider_and_a_page_without_one() -> None:
    browsed = [variant_key(variant) for variant in VARIANTS if variant_runs_browser(variant)]
    assert {tier for tier, *_ in browsed} == set(TIERS)
    providers = yaml.safe_load((ROOT / "copier.yml").read_text())["sign_in_with"]["choices"]
    assert {name for *_, sign_in_with, _, _ in browsed for name in sign_in_with} == set(
        providers.values()
    )
    assert any(not sign_in_with for *_, sign_in_with, _, _ in browsed)
    # Organisations' invitation flow runs in Chromium on a variant with teams.
    assert any(teams for *_, teams, _ in browsed)
    # Billing's upgrade flow runs in Chromium on a variant with stripe.
    assert any(billing == "stripe" for *_, billing in browsed)
    lighthouse = [variant for variant in VARIANTS if "lighthouse" in variant.get("once", ())]
    assert all(variant_runs_browser(variant) for variant in lighthouse)


def test_tier_question_labels_come_from_the_tier_data() -> None:
    questions = yaml.safe_load((ROOT / "copier.yml").read_text())
    choices = questions["tier"]["choices"]
    assert sorted(choice["value"] for choice in choices.values()) == sorted(TIERS)
    for label, choice in choices.items():
        tier = choice["value"]
        assert label == "{{ tier_label('%s') }}" % tier  # noqa: UP031  (a Jinja expression)
        # Disabled at the prompt when it would move the project down.
        assert choice["validator"] == "{{ tier_refusal('%s', previous_answers) }}" % tier  # noqa: UP031
    assert tier_label("mvp") == f"mvp: {TIERS['mvp']['summary']} (about $17/month)"


def test_the_root_readme_tier_table_is_the_tier_data() -> None:
    """The template's README types its tier table for GitHub to show: it must say what tiers.toml
    says (edit both when a tier changes)."""
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \| (.+?) \| (.+?) \|$", readme, flags=re.MULTILINE)
    expected = [
        (
            tier,
            TIERS[tier]["runs_on"],
            f"about ${usd}" if (usd := monthly_estimate(tier)) else "$0",
            what_the_bill_buys(tier),
        )
        for tier in sorted(TIERS, key=lambda name: TIERS[name]["order"])
    ]
    assert rows == expected


def what_the_bill_buys(tier: str) -> str:
    """The README's cell for `tier`: the reads a second its API CPUs serve (bench figures)."""
    reads = capacity(tier)["reads"]
    if not capacity(tier)["cores"]:
        return "your machine's CPUs"
    cached, uncached = reads["cached_read"]["per_second"], reads["uncached_read"]["per_second"]
    return f"about {cached:,} cached or {uncached:,} uncached reads/s"
