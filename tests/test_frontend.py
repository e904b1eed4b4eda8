"""The web app's source as a founder edits it: one route table whose modules exist, colours named
only in src/styles.js, and the page steps of docs/add-a-resource.md fitting a rendered project.
(The pages themselves run in the browser suite of the variant sessions.)"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import guide

# A colour written out: #abc / #aabbcc(dd) (not a private name such as #add() or this.#fade.x),
# or a CSS colour function.
COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b(?!\s*[(=.])|\b(?:rgba?|hsla?|hwb|oklch|oklab|lab|lch)\(")


def source_files(project: Path) -> list[Path]:
    return sorted((project / "frontend" / "src").rglob("*.js"))


@pytest.mark.parametrize(
    ("sign_in_with", "teams", "billing"),
    [([], False, "none"), (["github"], False, "none"), ([], True, "none"), ([], True, "stripe")],
    ids=["no-providers", "github", "teams", "teams-stripe"],
)
def test_every_route_loads_a_module_that_exists(
    render, sign_in_with: list[str], teams: bool, billing: str
) -> None:
    project = render(
        tier="dev", frontend=True, sign_in_with=sign_in_with, teams=teams, billing=billing
    )
    table = (project / "frontend" / "src" / "routes.js").read_text()
    paths = re.findall(r'^    path: "([^"]+)",$', table, re.MULTILINE)
    modules = re.findall(r'^    load: \(\) => import\("\./([^"]+)"\),$', table, re.MULTILINE)
    assert len(paths) == len(modules) >= 8, table
    for module in modules:
        assert (project / "frontend" / "src" / module).is_file(), f"routes.js loads {module}"
    assert ("/auth/callback/*" in paths) == bool(sign_in_with)
    assert ("/invitations/accept" in paths) == teams
    assert ("/billing" in paths) == (billing == "stripe")


def test_colours_are_named_only_in_styles_js(render) -> None:
    project = render(tier="dev", frontend=True, sign_in_with=["github"])
    frontend = project / "frontend"
    for path in [*source_files(project), frontend / "src" / "base.css"]:
        if path.name != "styles.js":
            found = COLOUR.search(path.read_text())
            assert found is None, f"{path.relative_to(project)} writes a colour: {found.group()}"
    # The browser's own chrome (index.html, the manifest) takes the palette's light accent.
    accent = re.search(r"--accent: (#[0-9a-f]{6});", (frontend / "src/styles.js").read_text())
    assert accent, "styles.js has no --accent"
    assert f'name="theme-color" content="{accent[1]}"' in (frontend / "index.html").read_text()
    assert f'"theme_color": "{accent[1]}"' in (frontend / "manifest.webmanifest").read_text()


def test_the_guides_page_steps_apply_to_a_rendered_project(render) -> None:
    """Followed literally: each `after=` line is in its file once, each new file is new, and every
    file still parses as a JavaScript module (node --check). The backend steps are followed, and
    the project's tests run, in the variant session that has `once = ["guide"]`."""
    project = render(tier="dev", frontend=True)
    page = [step for step in guide.steps(project) if (step.path or "").startswith("frontend/")]
    assert [(step.path, bool(step.after)) for step in page] == [
        ("frontend/src/routes.js", True),
        ("frontend/src/components/notes-page.js", False),
    ]
    for step in page:
        guide.apply(project, step)
    assert '"/notes"' in (project / "frontend" / "src" / "routes.js").read_text()
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the syntax check needs it")
    for path in source_files(project):
        checked = subprocess.run(
            [node, "--input-type=module", "--check"],
            input=path.read_text(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, f"{path.relative_to(project)}: {checked.stderr}"
