"""docs/costs.md in a generated project: the bill from tiers.toml, the same total everywhere."""

from __future__ import annotations

import re
import subprocess
import warnings
from pathlib import Path

import copier
import pytest
from conftest import DOMAIN, TIERS
from working_tree import copy_working_tree

from extensions.context import (
    bill_growth,
    capacity,
    load_capacity,
    load_tiers,
    monthly_estimate,
    next_tier,
    tier_label,
)
from tests import benchmarks

# The bill's total row; the first one on the page is this tier's, the second the next tier's.
TOTAL = re.compile(r"^\| \*\*total\*\* \| \| \*\*(\d+)\*\* \|", re.M)


def readme_tier_line(usd: int) -> str:
    return f"about **${usd}/month** ([the bill, line by line](docs/costs.md))"


@pytest.mark.parametrize("tier", sorted(TIERS))
def test_costs_page_total_is_the_estimate_of_the_question_and_the_readme(render, tier) -> None:
    project = render(tier=tier)
    page = (project / "docs" / "costs.md").read_text()
    estimate = monthly_estimate(tier)
    assert int(TOTAL.findall(page)[0]) == estimate
    assert readme_tier_line(estimate) in (project / "README.md").read_text()
    assert f"(about ${estimate}/month)" in tier_label(tier)
    for line in TIERS[tier]["costs"].values():
        row = f"| {line['item']} | {line['size']} | {line['usd']} | {line['price_list']} |"
        assert row in page
    prices = load_tiers()["prices"]
    assert f"as of {prices['as_of']}" in page and prices["source"] in page
    # The founder is told up front that the page is rewritten, not theirs to edit.
    assert "`copier update` rewrites this page" in page.split("## ")[0]
    graduate = next_tier(tier)
    if graduate is None:
        assert len(TOTAL.findall(page)) == 1
    else:
        assert int(TOTAL.findall(page)[1]) == monthly_estimate(graduate)
        assert f"--data tier={graduate}" in page


def test_growth_page_prices_every_way_the_bill_grows(render) -> None:
    page = (render(tier="growth") / "docs" / "costs.md").read_text()
    figures = bill_growth("growth")
    for plan in figures["database_plans"]:
        assert f"{plan['size']}: ${plan['usd']} each" in page
    assert f"**+${figures['api_pods']['node_usd']}/month**" in page
    assert f"**+${figures['backups']['usd_per_dump_gb']:.2f}/month**" in page
    for setting in ("cache TTL", "Redis maxmemory", "DB pool", "API replicas"):
        assert f"| {setting}" in page


def test_mvp_page_names_the_next_droplet_when_the_memory_budget_is_full(render) -> None:
    page = (render(tier="mvp") / "docs" / "costs.md").read_text()
    memory, step = bill_growth("mvp")["memory"], bill_growth("mvp")["next_droplet"]
    assert memory["free_mb"] == TIERS["mvp"]["droplet_ram_mb"] - memory["used_mb"] >= 0
    assert f"leaving {memory['free_mb']} MB" in page
    assert f"resize to {step['size']}" in page and f"**+${step['step_usd']}/month**" in page


def test_cost_lines_have_a_size_a_price_and_a_price_list_that_match_the_profile() -> None:
    for profile in TIERS.values():
        for line in profile["costs"].values():
            assert line["item"] and line["size"] and line["price_list"]
            assert line["usd"] > 0
    assert TIERS["mvp"]["costs"]["droplet"]["size"].startswith(TIERS["mvp"]["droplet_size"])
    growth = TIERS["growth"]
    assert growth["costs"]["nodes"]["size"] == f"{growth['node_count']} x {growth['node_size']}"
    plans = [plan["usd"] for plan in growth["growth_steps"]["database_plans"]]
    assert plans == sorted(plans) and plans[0] > growth["costs"]["database"]["usd"]


def git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "-C", str(repo), *identity, *args], check=True, capture_output=True)


def release(template: Path, version: str) -> None:
    git(template, "add", "--all")
    git(template, "commit", "--quiet", f"--message=Release {version}")
    git(template, "tag", f"v{version}")


def test_copier_update_with_new_prices_rewrites_the_costs_page(tmp_path: Path) -> None:
    template, project = tmp_path / "template", tmp_path / "project"
    copy_working_tree(template)
    git(template, "init", "--quiet")
    release(template, "1.0.0")
    answers = {"tier": "mvp", "domain": DOMAIN}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # copier's notes on the local template
        copier.run_copy(
            str(template), project, data=answers, defaults=True, unsafe=True, skip_tasks=True,
            quiet=True,
        )  # fmt: skip
        git(project, "init", "--quiet")
        git(project, "add", "--all")
        git(project, "commit", "--quiet", "--message=Initial commit")
        tiers = template / "extensions" / "tiers.toml"
        droplet = TIERS["mvp"]["costs"]["droplet"]["usd"]
        old, new = (f'usd = {usd}, price_list = "Droplets"' for usd in (droplet, droplet + 1))
        assert old in tiers.read_text()
        tiers.write_text(tiers.read_text().replace(old, new))
        release(template, "1.1.0")
        copier.run_update(
            project, defaults=True, overwrite=True, unsafe=True, skip_tasks=True, quiet=True
        )
    page = (project / "docs" / "costs.md").read_text()
    assert int(TOTAL.findall(page)[0]) == monthly_estimate("mvp") + 1
    assert readme_tier_line(monthly_estimate("mvp") + 1) in (project / "README.md").read_text()
    assert not list(project.rglob("*.rej"))


@pytest.mark.parametrize("tier", sorted(TIERS))
def test_costs_page_and_readme_say_what_the_bill_buys(render, tier) -> None:
    project = render(tier=tier)
    page = (project / "docs" / "costs.md").read_text()
    bought = capacity(tier)
    cached, uncached = bought["reads"]["cached_read"], bought["reads"]["uncached_read"]
    assert f"`nox -s bench`, {load_capacity()['recorded']}, on a" in page
    readme = (project / "README.md").read_text()
    if bought["cores"]:
        for read, label in ((cached, "cached"), (uncached, "uncached")):
            row = (
                f"| {label}: answered from {'the cache' if label == 'cached' else 'PostgreSQL'} "
                f"| {read['cpu_us']:,} us | {read['per_second']:,} | ${read['usd_per_million']} |"
            )
            assert row in page
        # The bill over a month of reads at that rate: the page's price follows the bill's.
        month = monthly_estimate(tier) / (cached["per_second"] * 30 * 24 * 3600 / 1e6)
        assert cached["usd_per_million"] == pytest.approx(month, rel=0.05)
        assert f"about {cached['per_second']:,} cached or\n{uncached['per_second']:,}" in readme
    else:
        assert f"about {cached['per_core_per_second']:,} cached" in page
        assert "uncached reads a second" not in readme


def test_capacity_file_has_the_shape_the_bench_writes() -> None:
    """extensions/capacity.json is written by `nox -s bench`: the figures the docs read are the
    ones its capacity_figures records."""
    phase = {"api_cpu_us_per_request": 1, "redis_cpu_us_per_request": 1}
    report = {
        "machine": {"cpus": 2, "load_average_1m": 1.0},
        "cached": phase,
        "uncached": {**phase, "postgres_cpu_us_per_request": 1},
        "cpu": {"floor": {"median": 1}, "now": {"cached": {"cpu_us_median": 1}}},
    }
    written, recorded = benchmarks.capacity_figures(report), load_capacity()
    assert set(written) == set(recorded)
    for read, cpu in written["cpu_us_per_request"].items():
        assert set(cpu) == set(recorded["cpu_us_per_request"][read])
        assert all(us > 0 for us in recorded["cpu_us_per_request"][read].values())
