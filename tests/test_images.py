"""Every third-party image a rendered project names is the one extensions/shared.toml gives its
tier: compose, Kubernetes, CI service containers and Dockerfiles never drift apart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import VARIANTS, rendered_files, variant_answers, variant_id

from extensions.context import images

# `image: x` (compose, Kubernetes, workflows) and `FROM x` (Dockerfiles).
IMAGE_LINE = re.compile(r"^\s*(?:-\s*)?(?:image:|FROM)\s+(\S+)", re.MULTILINE)


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_every_third_party_image_is_the_one_shared_toml_names(render, variant) -> None:
    project = render(**variant_answers(variant))
    expected = images(variant["tier"])
    repositories = {image.rsplit(":", 1)[0]: image for image in expected.values()}
    named = {
        (path.name, image)
        for path in rendered_files(project)
        for image in IMAGE_LINE.findall(path.read_text(errors="ignore"))
    }
    drifted = sorted(
        (name, image)
        for name, image in named
        if image.rsplit(":", 1)[0] in repositories and image not in expected.values()
    )
    assert drifted == []
    # The table is used: postgres and redis appear in every variant.
    assert {expected["postgres"], expected["redis"]} <= {image for _, image in named}


# What each Dependabot ecosystem reads in a directory it is given (not in the directories below),
# as dependabot-core's file fetchers match names: `docker` reads Dockerfiles and Kubernetes
# manifests (a YAML file without a dot in its stem whose first document has apiVersion and kind),
# `docker-compose` reads compose files.
DOCKERFILE = re.compile(r"dockerfile", re.IGNORECASE)
MANIFEST = re.compile(r"[^.]+\.ya?ml", re.IGNORECASE)
COMPOSE_FILE = re.compile(r"(docker-)?compose(-\w+)?(\.[\w-]+)?\.ya?ml", re.IGNORECASE)
# A workflow's service containers: no Dependabot ecosystem updates them (dependabot-core#5819).
WORKFLOWS = (".github", "workflows")


def dependabot_reads(ecosystem: str, path: Path) -> bool:
    if ecosystem == "docker":
        if DOCKERFILE.search(path.name):
            return True
        if not MANIFEST.fullmatch(path.name):
            return False
        first = next(yaml.safe_load_all(path.read_text()), None)
        return isinstance(first, dict) and {"apiVersion", "kind"} <= first.keys()
    return ecosystem == "docker-compose" and bool(COMPOSE_FILE.fullmatch(path.name))


def image_updates(project: Path) -> list[tuple[dict, Path]]:
    """The dependabot.yml entries that update images, each with every directory it names."""
    updates = yaml.safe_load((project / ".github" / "dependabot.yml").read_text())["updates"]
    return [
        (entry, project / directory.lstrip("/"))
        for entry in updates
        if entry["package-ecosystem"] in {"docker", "docker-compose"}
        for directory in entry.get("directories", [entry.get("directory")])
    ]


def workflow_containers(project: Path) -> set[str]:
    """The images of the workflows' service containers and job containers."""
    images = set()
    for workflow in (project / ".github" / "workflows").glob("*.yml"):
        for job in yaml.safe_load(workflow.read_text())["jobs"].values():
            containers = [*job.get("services", {}).values(), job.get("container")]
            images |= {c if isinstance(c, str) else c["image"] for c in containers if c}
    return images


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_dependabot_updates_every_image_the_project_runs(render, variant) -> None:
    project = render(**variant_answers(variant))
    updates = image_updates(project)

    def covered(path: Path) -> bool:
        return any(
            path.parent == directory and dependabot_reads(entry["package-ecosystem"], path)
            for entry, directory in updates
        )

    # Workflows are read for their containers below (their `image:` lines include matrix values).
    naming = {
        path: IMAGE_LINE.findall(path.read_text(errors="ignore"))
        for path in rendered_files(project)
        if path.relative_to(project).parts[:2] != WORKFLOWS
    }
    uncovered = [path for path, images in naming.items() if images and not covered(path)]
    assert sorted(str(path.relative_to(project)) for path in uncovered) == []
    # A CI container is moved by hand, to the tag Dependabot gives the same image elsewhere.
    elsewhere = {image for images in naming.values() for image in images}
    assert workflow_containers(project) <= elsewhere
    # Every directory an entry names holds a file it reads: Dependabot fails the entry otherwise.
    for entry, directory in updates:
        assert any(
            dependabot_reads(entry["package-ecosystem"], path) for path in directory.iterdir()
        ), f"{entry['package-ecosystem']}: nothing to read in {directory.relative_to(project)}"


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_images_built_here_are_never_looked_up_on_a_registry(render, variant) -> None:
    """A compose service built from this repository (`build:`) and named `image:` is ignored: a
    registry image of that name is someone else's, and must not be proposed as an update."""
    project = render(**variant_answers(variant))
    ignored = {
        rule["dependency-name"]
        for entry, _ in image_updates(project)
        if entry["package-ecosystem"] == "docker-compose"
        for rule in entry.get("ignore", [])
    }
    built_here = {
        service["image"].rsplit(":", 1)[0]
        for compose in project.glob("compose*.yaml")
        for service in yaml.safe_load(compose.read_text())["services"].values()
        if "build" in service and "image" in service
    }
    assert built_here <= ignored
