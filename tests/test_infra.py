"""infra/, the Pulumi program of the mvp and growth projects: its figures are the tier profile's,
rendered once into infra/tier.py. The program itself runs under Pulumi's mocks in the generated
project's own tests (`make test`, so in the nox `variant` sessions)."""

from __future__ import annotations

import re
import runpy

import pytest
from conftest import TIERS, rendered_files

from extensions.context import monthly_estimate

HOSTED = [tier for tier in sorted(TIERS) if TIERS[tier]["costs"]]
SLUG = re.compile(r"^(s|db)-[a-z0-9-]+$")
PROGRAM = ["backups.py", "droplet.py", "cluster.py", "stack.py", "__main__.py"]


def test_dev_has_no_infrastructure(render) -> None:
    project = render(tier="dev")
    assert not (project / "infra").exists()
    assert not (project / ".github" / "workflows" / "infra.yml").exists()
    assert "infra" not in (project / "Makefile").read_text()


@pytest.mark.parametrize("tier", HOSTED)
def test_tier_module_is_the_profile(render, tier) -> None:
    project = render(tier=tier)
    figures = runpy.run_path(str(project / "infra" / "tier.py"))
    profile = TIERS[tier]
    assert figures["POSTGRES_MAJOR_VERSION"] == profile["postgres_major_version"]
    assert figures["BACKUP_RETENTION_DAYS"] == profile["backup"]["retention_days"]
    if tier == "mvp":
        assert figures["DROPLET_SIZE"] == profile["droplet_size"]
        assert figures["DEPLOY_PATH"] == profile["infra"]["deploy_path"]
    else:
        assert (figures["NODE_SIZE"], figures["NODE_COUNT"]) == (
            profile["node_size"],
            profile["node_count"],
        )
        assert figures["DATABASE_SIZE"] == profile["costs"]["database"]["size"]
        assert figures["CLUSTER_ADDONS"] == profile["cluster_addons"]
    # Per node for the nodes: times the count, the program's prices add up to the estimate.
    counted = {
        line: price * profile["costs"][line].get("count", 1)
        for line, price in figures["LIST_PRICE_USD"].items()
    }
    assert sum(counted.values()) == monthly_estimate(tier)


@pytest.mark.parametrize("tier", HOSTED)
def test_the_program_types_no_figure_of_the_profile(render, tier) -> None:
    """Sizes and versions live in tier.py only: the program reads them from there."""
    project = render(tier=tier)
    profile = TIERS[tier]
    # DigitalOcean size slugs (s-..., db-...) and the add-ons' chart versions.
    figures = [line["size"] for line in profile["costs"].values() if SLUG.match(line["size"])]
    figures += [profile[key] for key in ("droplet_size", "node_size") if key in profile]
    figures += [addon["version"] for addon in profile.get("cluster_addons", {}).values()]
    for name in PROGRAM:
        path = project / "infra" / name
        if path.exists():
            text = path.read_text()
            assert [figure for figure in figures if figure in text] == [], path.name


# What a founder would still have to edit by hand after `make infra-up` (the database host in
# k8s/pgbouncer.yaml is written by infra/write_outputs.py, tested in the generated project).
PLACEHOLDERS = ("your-github-owner",)


@pytest.mark.parametrize(
    "tier",
    [
        "mvp",
        pytest.param(
            "growth",
            marks=pytest.mark.xfail(
                strict=True, reason="issue 34: the GitHub owner is not an answer yet"
            ),
        ),
    ],
)
def test_no_placeholder_is_left_to_edit_by_hand(render, tier) -> None:
    project = render(tier=tier)
    found = [
        f"{path.relative_to(project)}: {placeholder}"
        for path in rendered_files(project)
        # An example file is never applied: its values show the shape.
        if ".example" not in path.name
        for placeholder in PLACEHOLDERS
        if placeholder in path.read_text(errors="ignore")
    ]
    assert found == []
