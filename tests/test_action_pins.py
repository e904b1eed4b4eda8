"""Every action a generated workflow runs is pinned by commit, with its version in a comment that
Dependabot keeps current (issue 29): a tag can be moved to other code or deleted upstream, as
aquasecurity/trivy-action's were (its `0.28.0`, which security.yml named, no longer resolves)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, VARIANTS, variant_answers, variant_id

# A step's or a job's `uses:` line; the pin, then whatever follows it on the line.
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*['\"]?([^\s'\"]+)['\"]?(.*)$", re.MULTILINE)
# owner/repo[/path]@<full commit SHA> # v<version>: the form Dependabot updates in place.
PINNED = re.compile(r"[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}")
VERSION_COMMENT = re.compile(r"^\s+# v?\d")


def workflows(project: Path) -> list[Path]:
    return sorted((project / ".github" / "workflows").glob("*.y*ml"))


def parsed_uses(workflow: Path) -> list[str]:
    """Every `uses:` as GitHub reads it (jobs calling reusable workflows, and steps)."""
    jobs = yaml.safe_load(workflow.read_text())["jobs"].values()
    return [node["uses"] for job in jobs for node in [job, *job.get("steps", [])] if "uses" in node]


def unpinned(workflow: Path) -> list[str]:
    """The `uses:` lines of `workflow` that are not `@<40-hex SHA> # v<version>`."""
    text = workflow.read_text()
    lines = USES_LINE.findall(text)
    assert sorted(ref for ref, _ in lines) == sorted(parsed_uses(workflow)), (
        f"{workflow.name}: a `uses:` the line check cannot see (flow style?)"
    )
    return [
        f"{workflow.name}: uses: {ref}{rest}"
        for ref, rest in lines
        # A local action or workflow is this repository's own code, pinned by the checkout.
        if not ref.startswith("./") and not (PINNED.fullmatch(ref) and VERSION_COMMENT.match(rest))
    ]


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_every_action_is_pinned_by_commit_with_its_version(render, variant) -> None:
    project = render(**variant_answers(variant))
    assert workflows(project), "no workflows rendered"
    assert [line for workflow in workflows(project) for line in unpinned(workflow)] == []
    # Dependabot moves the SHA and the comment together; without it the pins would only age.
    updates = yaml.safe_load((project / ".github" / "dependabot.yml").read_text())["updates"]
    assert {"package-ecosystem": "github-actions", "directory": "/"}.items() <= next(
        entry for entry in updates if entry["package-ecosystem"] == "github-actions"
    ).items()


def test_the_variants_render_every_workflow_the_template_has(render) -> None:
    """The test above sees every workflow file: none is left to a combination it never renders."""
    template = {
        re.sub(r"\{%.*?%\}", "", path.name).removesuffix(".jinja")
        for path in (ROOT / "template" / ".github" / "workflows").iterdir()
    }
    rendered = {
        path.name for variant in VARIANTS for path in workflows(render(**variant_answers(variant)))
    }
    assert rendered == template


SHA = "11d5960a326750d5838078e36cf38b85af677262"


@pytest.mark.parametrize(
    ("uses", "pinned"),
    [
        ("actions/checkout@v4", False),
        ("aquasecurity/trivy-action@0.28.0", False),
        (f"actions/checkout@{SHA}", False),
        (f"actions/checkout@{SHA} # latest", False),
        ("actions/checkout@11d5960a32 # v4.4.0", False),
        (f"actions/checkout@{SHA.upper()} # v4.4.0", False),
        (f"actions/checkout@{SHA} # v4.4.0", True),
        (f"'actions/checkout@{SHA}' # 4.4.0", True),
        ("./.github/actions/setup", True),
    ],
)
@pytest.mark.parametrize("where", ["step", "job"])
def test_the_pin_check_refuses_tags_and_bare_shas(tmp_path, uses, pinned, where) -> None:
    """The check itself: what it lets through and what it refuses, in steps and reusable jobs."""
    if where == "step":
        job = f"    runs-on: ubuntu-latest\n    steps:\n      - uses: {uses}\n"
    else:
        job = f"    uses: {uses.replace('checkout', 'checkout/.github/workflows/x.yml')}\n"
    workflow = tmp_path / "ci.yml"
    workflow.write_text(f"on: push\njobs:\n  a:\n{job}")
    assert (unpinned(workflow) == []) is pinned
