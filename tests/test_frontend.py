"""The web app's source as a founder edits it: one route table whose modules exist, colours named
only in src/styles.js, and the page steps of docs/add-a-resource.md fitting a rendered project.
(The pages themselves run in the browser suite of the variant sessions.)"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT

PROVIDER_CHOICES = [[], ["github"]]
# A colour written out: #abc / #aabbcc(dd) (not a private name such as #add() or this.#fade.x),
# or a CSS colour function.
COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b(?!\s*[(=.])|\b(?:rgba?|hsla?|hwb|oklch|oklab|lab|lch)\(")
# A fenced block of the guide: ```js file=<path> [after=<line>]
GUIDE_BLOCK = re.compile(
    r"^```js file=(\S+)(?: after=([^\n]+))?\n(.*?)^```$", re.MULTILINE | re.DOTALL
)


def source_files(project: Path) -> list[Path]:
    return sorted((project / "frontend" / "src").rglob("*.js"))


@pytest.mark.parametrize("sign_in_with", PROVIDER_CHOICES, ids=["no-providers", "github"])
def test_every_route_loads_a_module_that_exists(render, sign_in_with: list[str]) -> None:
    project = render(tier="dev", frontend=True, sign_in_with=sign_in_with)
    table = (project / "frontend" / "src" / "routes.js").read_text()
    paths = re.findall(r'^    path: "([^"]+)",$', table, re.MULTILINE)
    modules = re.findall(r'^    load: \(\) => import\("\./([^"]+)"\),$', table, re.MULTILINE)
    assert len(paths) == len(modules) >= 8, table
    for module in modules:
        assert (project / "frontend" / "src" / module).is_file(), f"routes.js loads {module}"
    assert ("/auth/callback/*" in paths) == bool(sign_in_with)


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


def guide_steps() -> list[tuple[str, str | None, str]]:
    guide = (ROOT / "template" / "docs" / "add-a-resource.md").read_text()
    return GUIDE_BLOCK.findall(guide)


def test_the_guides_page_steps_apply_to_a_rendered_project(render) -> None:
    """Followed literally: each `after=` line is in its file once, each new file is new, and every
    file still parses as a JavaScript module (node --check)."""
    project = render(tier="dev", frontend=True)
    steps = guide_steps()
    assert [(path, bool(after)) for path, after, _ in steps] == [
        ("frontend/src/routes.js", True),
        ("frontend/src/components/notes-page.js", False),
    ]
    for path, after, content in steps:
        target = project / path
        if not after:
            assert not target.exists(), f"{path} exists already"
            target.write_text(content)
            continue
        lines = target.read_text().splitlines(keepends=True)
        found = [number for number, line in enumerate(lines) if line.strip() == after]
        assert len(found) == 1, f"{path} has the line {after!r} {len(found)} times"
        lines.insert(found[0] + 1, content)
        target.write_text("".join(lines))
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
