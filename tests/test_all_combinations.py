"""The all-combinations check can fail: each of its checks reports a broken project, by name,
and leaves a sound one alone. (The nox `combinations` session runs it on every combination.)"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tests.all_combinations import (
    Combination,
    check_apps_build,
    check_files,
    check_ruff,
    report,
)

ANSWERS = {"tier": "mvp", "frontend": False, "python_version": "3.12", "sign_in_with": ["github"]}
PYPROJECT = (
    '[project]\nname = "x"\nversion = "0"\ndependencies = []\n\n[tool.ruff]\nline-length = 100\n'
)


def project(
    root: Path, name: str, main: str = 'def create_app():\n    return "app"\n'
) -> Combination:
    backend = root / name / "backend"
    (backend / "app").mkdir(parents=True)
    (backend / "pyproject.toml").write_text(PYPROJECT)
    (backend / "app" / "__init__.py").write_text("")
    (backend / "app" / "main.py").write_text(main)
    (root / name / ".env.example").write_text("SECRET_KEY=change-me\n")
    return Combination(dict(ANSWERS), root / name)


def test_leftover_jinja_and_unparsable_files_are_reported(tmp_path) -> None:
    sound, broken = project(tmp_path, "sound"), project(tmp_path, "broken")
    (broken.project / "compose.yaml").write_text("services: [unclosed\n")
    (broken.project / "README.md").write_text("Runs on {{ tier }}\n")
    for combination in (sound, broken):
        check_files(combination)
    assert sound.problems == []
    assert any("README.md: unrendered template syntax" in p for p in broken.problems)
    assert any(p.startswith("compose.yaml: YAML does not parse") for p in broken.problems)


def test_ruff_findings_go_to_the_combination_that_has_them(tmp_path) -> None:
    sound = project(tmp_path, "sound")
    unused = project(tmp_path, "unused", "import hmac\n\n\ndef create_app():\n    return 1\n")
    check_ruff(shutil.which("ruff") or "ruff", [sound, unused])
    assert sound.problems == []
    assert any("F401" in p and "hmac" in p for p in unused.problems), unused.problems


def test_an_app_that_does_not_build_is_reported_with_its_error(tmp_path) -> None:
    sound = project(tmp_path, "sound")
    failing = project(tmp_path, "failing", 'def create_app():\n    raise RuntimeError("no")\n')
    assert check_apps_build(sys.executable, [sound, failing]) == 2
    assert sound.problems == []
    assert failing.problems and "RuntimeError: no" in failing.problems[0]


def test_the_report_names_failures_as_copier_flags(tmp_path) -> None:
    broken = project(tmp_path, "broken")
    broken.problems.append("something")
    said: list[str] = []
    assert report([broken, project(tmp_path, "sound")], said.append) == [broken]
    assert said[0] == (
        "FAILED mvp, api-only, py3.12, github: --data tier=mvp --data frontend=false "
        "--data python_version=3.12 --data 'sign_in_with=[\"github\"]'"
    )
    assert said[-1].endswith("1 passed, 1 failed")
