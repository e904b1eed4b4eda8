"""infra/, the Pulumi program of the mvp and growth projects: its figures are the tier profile's,
rendered once into infra/tier.py. The program itself runs under Pulumi's mocks in the generated
project's own tests (`make test`, so in the nox `variant` sessions)."""

from __future__ import annotations

import re
import runpy
import subprocess

import pytest
import yaml
from conftest import TIERS, render_into, rendered_files

from extensions.context import monthly_estimate
from extensions.git_remote import github_repository_of

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
# k8s/pgbouncer.ini is written by infra/write_outputs.py, tested in the generated project).
PLACEHOLDERS = ("your-github-owner", "owner/repo")


@pytest.mark.parametrize("tier", HOSTED)
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


@pytest.mark.parametrize("tier", HOSTED)
def test_the_github_repository_answer_names_the_images_and_argocds_source(render, tier) -> None:
    project = render(tier=tier, github_repository="Acme-Labs/notes")
    env = (project / ".env").read_text()
    if tier == "mvp":
        # compose.prod.yaml pulls from it; the deploy workflow pushes to ghcr.io/${repository,,}.
        assert "\nIMAGE_REPOSITORY=ghcr.io/acme-labs/notes\n" in env
        return
    images = yaml.safe_load((project / "k8s" / "kustomization.yaml").read_text())["images"]
    assert {image["newName"] for image in images} == {
        f"ghcr.io/acme-labs/notes-{image['name']}" for image in images
    }
    sources = {
        yaml.safe_load(path.read_text())["spec"]["source"]["repoURL"]
        for path in [*project.glob("k8s/argocd-*.yaml"), project / "monitoring/argocd/config.yaml"]
    }
    assert sources == {"git@github.com:Acme-Labs/notes.git"}


def test_the_github_repository_defaults_to_the_destinations_github_remote(tmp_path) -> None:
    project = tmp_path / "clone"
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run(
        ["git", "-C", str(project), "remote", "add", "origin", "git@github.com:acme/notes.git"],
        check=True,
    )
    render_into(project, {"tier": "growth"})
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["github_repository"] == "acme/notes"


@pytest.mark.parametrize(
    ("remote", "repository"),
    [
        ("git@github.com:acme/notes.git", "acme/notes"),
        ("https://github.com/acme/notes.git", "acme/notes"),
        ("https://github.com/acme/notes", "acme/notes"),
        ("ssh://git@github.com/acme/my.notes.git", "acme/my.notes"),
        ("git@gitlab.com:acme/notes.git", ""),
    ],
)
def test_the_remote_is_read_as_owner_and_name(tmp_path, remote, repository) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", remote], check=True)
    assert github_repository_of(tmp_path) == repository


def test_without_a_remote_the_default_is_the_authors_name_and_the_slug(render) -> None:
    project = render(tier="mvp", author_name="Ada Lovelace & Co")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["github_repository"] == "ada-lovelace-co/my-app"
