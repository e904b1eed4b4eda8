"""app/ is domains over cross-cutting parts, and `make lint` (import-linter) holds it to that only
for the packages its contracts name: a package listed nowhere would be held to nothing."""

import tomllib
from pathlib import Path

BACKEND = Path(__file__).resolve().parents[1]


def test_every_package_of_app_is_a_domain_or_a_cross_cutting_part() -> None:
    """Packages only: a module directly in app/ (main.py, a script of yours) is held to nothing."""
    config = tomllib.loads((BACKEND / "pyproject.toml").read_text())["tool"]["importlinter"]
    (upside_down,) = [c for c in config["contracts"] if c["type"] == "forbidden"]
    named = {*upside_down["source_modules"], *upside_down["forbidden_modules"]}
    found = {
        f"app.{path.name}"
        for path in (BACKEND / "app").iterdir()
        if path.is_dir() and (path / "__init__.py").is_file()
    }
    unnamed = sorted(found - named)
    assert unnamed == [], (
        f"add {unnamed} to forbidden_modules (a domain) or source_modules (a part every domain "
        "uses) in backend/pyproject.toml's [tool.importlinter]: docs/add-a-resource.md"
    )
