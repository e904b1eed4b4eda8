"""Every combination of the answers that change the output (tests/answer_table.py), rendered
in-process with copier's API and checked cheaply, for the nox `combinations` session:

- no template syntax left (the same check as tests/test_render.py);
- every rendered YAML, TOML and JSON file parses;
- every setting production sets reaches the API and the worker (tests/production_settings.py);
- `ruff check` and `ruff format --check` pass on what `make lint` lints, untouched;
- the app imports and `create_app()` builds with the rendered settings (.env), under the Python
  version the combination asked for.

Renders skip copier's tasks except the .env one: locking dependencies costs seconds a render and
none of these checks installs from a lock. A failure names its combination as `--data` flags.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from extensions import env_file
from tests.answer_table import Answers, as_data_flags, combination_id, every_combination
from tests.production_settings import undelivered
from tests.rendered import leftover_template_syntax, rendered_files
from tests.working_tree import copy_working_tree

# What the free-text questions get: they only fill in strings.
FIXED_ANSWERS = {"project_name": "Combo", "domain": "combo.example.org"}
# What `make lint` lints, relative to the project.
LINTED = ("backend", "frontend/e2e", "infra")
BUILDS_APP = Path(__file__).with_name("app_builds.py")


@dataclass
class Combination:
    answers: Answers
    project: Path
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return combination_id(self.answers)


def _render(template: Path, project: Path, answers: Answers) -> str | None:
    """Render one combination; the error that stopped it, if any."""
    from copier import run_copy  # in the worker process

    try:
        data = {**FIXED_ANSWERS, **answers}
        run_copy(
            str(template), project, data=data, defaults=True, unsafe=True, skip_tasks=True,
            quiet=True,
        )  # fmt: skip
        env_file.complete(project)  # the .env task, which create_app() reads
    except (Exception, SystemExit) as error:
        return f"copier failed: {error}"[:500]
    return None


def render_all(root: Path, answers_list: Iterable[Answers]) -> list[Combination]:
    """Render each combination into root/<number> on every core, from one copy of the working
    tree (a plain folder: no clone per render)."""
    template = root / "template-source"
    copy_working_tree(template)
    combinations = [
        Combination(answers, root / f"{number:03d}") for number, answers in enumerate(answers_list)
    ]
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        errors = pool.map(
            _render,
            [template] * len(combinations),
            [combination.project for combination in combinations],
            [combination.answers for combination in combinations],
        )
        for combination, error in zip(combinations, errors, strict=True):
            if error:
                combination.problems.append(error)
    return combinations


def _parse_error(path: Path) -> str | None:
    text = path.read_text(errors="replace")
    try:
        if path.suffix in {".yml", ".yaml"}:
            list(yaml.safe_load_all(text))
        elif path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix in {".json", ".webmanifest"}:
            json.loads(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        return f"{path.suffix[1:].upper()} does not parse: {str(error).splitlines()[0][:200]}"
    return None


def check_files(combination: Combination) -> None:
    """No template syntax left; every YAML, TOML and JSON file parses."""
    for path in rendered_files(combination.project):
        relative = path.relative_to(combination.project)
        if found := leftover_template_syntax(combination.project, path):
            combination.problems.append(f"{relative}: {found}")
        elif error := _parse_error(path):
            combination.problems.append(f"{relative}: {error}")


def check_production_settings(combination: Combination) -> None:
    """Every setting production sets reaches the API and the worker (tests/production_settings)."""
    tier = str(combination.answers["tier"])
    for container, names in undelivered(combination.project, tier).items():
        combination.problems.append(f"{container} does not receive {', '.join(names)}")


def check_ruff(ruff: str, combinations: list[Combination]) -> None:
    """One `ruff check` and one `ruff format --check` over every project (each file under its own
    project's configuration, as `make lint` reads it); findings go to their combination."""
    by_project = {str(combination.project): combination for combination in combinations}
    paths = [
        str(combination.project / directory)
        for combination in combinations
        for directory in LINTED
        if (combination.project / directory).is_dir()
    ]
    commands = {
        "ruff check": [ruff, "check", "--no-cache", "--output-format=concise", "--quiet"],
        "ruff format --check": [ruff, "format", "--check", "--no-cache", "--quiet"],
    }
    for label, command in commands.items():
        result = subprocess.run([*command, *paths], capture_output=True, text=True)
        for line in (result.stdout + result.stderr).splitlines():
            owner = next((path for path in by_project if f"{path}/" in line), None)
            if owner is None:
                continue
            finding = line.replace(owner + "/", "").strip()
            by_project[owner].problems.append(f"{label}: {finding}")
        if result.returncode and not any(c.problems for c in combinations):
            raise RuntimeError(f"{label} failed with no finding it could place:\n{result.stderr}")


def backend_dependencies(combinations: Iterable[Combination]) -> list[str]:
    """Every runtime dependency the rendered backends declare, for one environment."""
    found: set[str] = set()
    for combination in combinations:
        pyproject = combination.project / "backend" / "pyproject.toml"
        if pyproject.is_file():
            found.update(tomllib.loads(pyproject.read_text())["project"]["dependencies"])
    return sorted(found)


def backend_fingerprint(project: Path) -> str:
    """What decides whether the app builds: its code, dependencies and settings' shape."""
    digest = hashlib.sha256()
    backend = project / "backend"
    for path in sorted([*(backend / "app").rglob("*"), backend / "pyproject.toml"]):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(project)).encode() + b"\0" + path.read_bytes())
    digest.update((project / ".env.example").read_bytes())
    return digest.hexdigest()


def check_apps_build(python: str, combinations: list[Combination]) -> int:
    """`create_app()` of each distinct backend under `python` (an environment with the backends'
    runtime dependencies); combinations with the same backend share its outcome."""
    distinct: dict[str, list[Combination]] = {}
    for combination in combinations:
        if (combination.project / "backend" / "app").is_dir():
            distinct.setdefault(backend_fingerprint(combination.project), []).append(combination)
    if not distinct:
        return 0
    backends = {str(same[0].project / "backend"): same for same in distinct.values()}
    result = subprocess.run(
        [python, str(BUILDS_APP), *backends],
        capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip
    reports = json.loads(result.stdout or "{}")
    for backend, same in backends.items():
        outcome = reports.get(backend, f"no report ({result.stderr[-300:]})")
        if outcome != "ok":
            for combination in same:
                combination.problems.append(f"create_app(): {outcome}")
    return len(backends)


def check_apps(root: Path, combinations: list[Combination]) -> None:
    """create_app() under each Python version the combinations ask for, in an environment of
    that version with every backend's dependencies (uv makes it; its cache keeps it quick)."""
    for python in sorted({str(c.answers["python_version"]) for c in combinations}):
        chosen = [c for c in combinations if str(c.answers["python_version"]) == python]
        venv = root / f"venv-{python}"
        subprocess.run(
            ["uv", "venv", "--quiet", "--clear", "--python", python, str(venv)], check=True
        )
        install = ["uv", "pip", "install", "--quiet", "--python", str(venv)]
        subprocess.run([*install, *backend_dependencies(chosen)], check=True)
        built = check_apps_build(str(venv / "bin" / "python"), chosen)
        print(f"create_app() under Python {python}: {built} distinct backends")


def report(combinations: list[Combination], say: Callable[[str], None]) -> list[Combination]:
    """Print each failing combination with its copier flags; return the failing ones."""
    failing = [combination for combination in combinations if combination.problems]
    for combination in failing:
        say(f"FAILED {combination.name}: {as_data_flags(combination.answers)}")
        for problem in combination.problems[:10]:
            say(f"    {problem}")
        if len(combination.problems) > 10:
            say(f"    ... and {len(combination.problems) - 10} more")
    say(
        f"{len(combinations)} combinations rendered and checked: "
        f"{len(combinations) - len(failing)} passed, {len(failing)} failed"
    )
    return failing


def main() -> int:
    """Render and check every combination in a temporary folder outside the repository (ruff
    skips anything under .nox); the folder is kept when a combination fails, to look at."""
    root = Path(tempfile.mkdtemp(prefix="neoforge-combinations-"))
    started = time.monotonic()
    combinations = render_all(root, every_combination())
    print(f"rendered {len(combinations)} combinations in {time.monotonic() - started:.0f} s")
    for combination in combinations:
        check_files(combination)
        check_production_settings(combination)
    check_ruff(shutil.which("ruff") or "ruff", combinations)
    print(f"files and ruff checked at {time.monotonic() - started:.0f} s")
    check_apps(root, combinations)
    print(f"create_app() checked at {time.monotonic() - started:.0f} s")
    if report(combinations, print):
        print(f"the rendered combinations are kept in {root}")
        return 1
    shutil.rmtree(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
