"""migrations/rename_env.py: what a release's `_migrations` entry runs on the founder's .env."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import copier
import pytest

from migrations import domain_layout
from migrations.rename_env import main, rename_env

ROOT = Path(__file__).parent.parent

ENV = "# secrets\nSECRET_KEY=abc\nOLD_TOKEN=founder-value\nexport OLD_TOKEN_TTL=5\n"


def test_renames_the_variable_and_keeps_its_value_and_every_other_line() -> None:
    assert rename_env(ENV, "OLD_TOKEN", "NEW_TOKEN") == (
        "# secrets\nSECRET_KEY=abc\nNEW_TOKEN=founder-value\nexport OLD_TOKEN_TTL=5\n"
    )


def test_renames_exported_variables() -> None:
    assert rename_env("export OLD = 1\n", "OLD", "NEW") == "export NEW = 1\n"


def test_running_twice_changes_nothing_more() -> None:
    once = rename_env(ENV, "OLD_TOKEN", "NEW_TOKEN")
    assert rename_env(once, "OLD_TOKEN", "NEW_TOKEN") == once


def test_a_file_that_already_sets_the_new_name_is_left_alone() -> None:
    both = ENV + "NEW_TOKEN=already-there\n"
    assert rename_env(both, "OLD_TOKEN", "NEW_TOKEN") == both


def test_a_bad_name_is_refused_with_a_clear_message(tmp_path: Path, capsys) -> None:
    env = tmp_path / ".env"
    env.write_text(ENV)
    assert main(["OLD_TOKEN", "NEW-TOKEN", f"--file={env}"]) == 2
    assert "'NEW-TOKEN' is not an environment variable name" in capsys.readouterr().err
    assert env.read_text() == ENV


def test_a_missing_env_file_is_not_an_error(tmp_path: Path) -> None:
    assert main(["OLD_TOKEN", "NEW_TOKEN", f"--file={tmp_path / '.env'}"]) == 0
    assert not (tmp_path / ".env").exists()


def git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "-C", str(repo), *identity, *args], check=True, capture_output=True)


def release(template: Path, version: str, env_line: str, migrations: str = "[]") -> None:
    """Commit and tag one release of a tiny template whose .env is founder-owned."""
    (template / "copier.yml").write_text(
        f"_skip_if_exists: [.env]\n_migrations: {migrations}\ntoken:\n  type: str\n"
        "  default: generated\n"
    )
    (template / ".env.jinja").write_text(env_line + "\n")
    (template / "{{_copier_conf.answers_file}}.jinja").write_text(
        "{{ _copier_answers|to_nice_yaml -}}\n"
    )
    git(template, "add", "--all")
    git(template, "commit", "--quiet", f"--message=Release {version}")
    git(template, "tag", f"v{version}")


def test_copier_update_runs_the_version_gated_migration_once(tmp_path: Path) -> None:
    template, project = tmp_path / "template", tmp_path / "project"
    template.mkdir()
    git(template, "init", "--quiet")
    shutil.copy(ROOT / "migrations" / "rename_env.py", template)
    release(template, "1.0.0", "OLD_TOKEN={{ token }}")
    migration = (
        '[{version: "2.0.0", command: ["{{ _copier_python }}",'
        ' "{{ _copier_conf.src_path }}/rename_env.py", OLD_TOKEN, NEW_TOKEN]}]'
    )
    release(template, "2.0.0", "NEW_TOKEN={{ token }}", migration)

    copier.run_copy(str(template), project, vcs_ref="v1.0.0", defaults=True, unsafe=True)
    (project / ".env").write_text("OLD_TOKEN=founder-secret\n")
    git(project, "init", "--quiet")
    (project / ".gitignore").write_text(".env\n")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--message=Founder's project")

    copier.run_update(project, defaults=True, unsafe=True, overwrite=True)
    # The template's new name, the founder's value: no merge could have done this to .env.
    assert (project / ".env").read_text() == "NEW_TOKEN=founder-secret\n"
    assert "_commit: v2.0.0" in (project / ".copier-answers.yml").read_text()

    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--message=Update to 2.0.0")
    (project / ".env").write_text("NEW_TOKEN=founder-secret\nOLD_TOKEN=added-later\n")
    copier.run_update(project, defaults=True, unsafe=True, overwrite=True)
    # 2.0.0 -> 2.0.0 crosses no migration version: the gate keeps it from running again.
    assert (project / ".env").read_text() == "NEW_TOKEN=founder-secret\nOLD_TOKEN=added-later\n"


@pytest.mark.parametrize("name", ["1ST", "A-B", "", "A B"])
def test_names_must_be_environment_variable_names(name: str) -> None:
    with pytest.raises(ValueError, match="is not an environment variable name"):
        rename_env(ENV, "OLD_TOKEN", name)


# migrations/domain_layout.py: 0.2 -> 0.3, the backend by domain.

LAYOUT_02_COMMIT = "1d05da3"  # the last commit of the 0.2 layout (CHANGELOG's 0.2.0)

FOUNDER_02 = '''"""A founder's route, written against the 0.2 layout."""

from app.api.deps import CurrentUserDep, SessionDep
from app.api.routes import items, users
from app.core import metrics
from app.core.cache.routes import cached
from app.models import (
    Item,
    Message,
    User,
)


def patch_target() -> str:
    return "app.core.mail.send_email"
'''
FOUNDER_03 = '''"""A founder's route, written against the 0.2 layout."""

from app.accounts.deps import CurrentUserDep
from app.api.deps import SessionDep
from app.items import routes as items
from app.accounts import me_routes as users
from app.observability import metrics
from app.cache.declarations import cached
from app.accounts.models import User
from app.api.schemas import Message
from app.items.models import Item


def patch_target() -> str:
    return "app.mail.send_email"
'''


def test_the_founders_imports_move_to_the_domain_layout() -> None:
    assert domain_layout.rewrite_imports(FOUNDER_02) == FOUNDER_03


def test_rewriting_imports_twice_changes_nothing_more() -> None:
    once = domain_layout.rewrite_imports(FOUNDER_02)
    assert domain_layout.rewrite_imports(once) == once


def template_paths() -> set[str]:
    """The template's backend files as a project names them: conditions and .jinja dropped."""
    names = set()
    for path in (ROOT / "template" / "backend").rglob("*"):
        name = path.relative_to(ROOT / "template" / "backend").as_posix()
        names.add(re.sub(r"\{%[^%]*%\}", "", name).removesuffix(".jinja"))
    return names


def test_every_new_home_is_a_file_of_the_template() -> None:
    missing = set(domain_layout.NEW_HOME.values()) - template_paths()
    assert not missing


def test_every_new_module_is_a_module_of_the_template() -> None:
    paths = template_paths()
    targets = {*domain_layout.MODULES.values(), *(f"{pkg}.{name}" for pkg, name in
               domain_layout.FROM_PACKAGE.values())}  # fmt: skip
    for homes, default in domain_layout.SPLIT.values():
        targets |= {*homes.values(), default}
    missing = {
        module
        for module in targets
        if not {f"{module.replace('.', '/')}.py", f"{module.replace('.', '/')}/__init__.py"} & paths
    }
    assert not missing


def test_every_02_file_that_moved_has_a_new_home() -> None:
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", LAYOUT_02_COMMIT,
         "template/backend/app", "template/backend/tests"],
        capture_output=True, text=True,
    )  # fmt: skip
    if listed.returncode:
        pytest.skip(f"no {LAYOUT_02_COMMIT} in this clone (shallow?)")
    old = {
        re.sub(r"\{%[^%]*%\}", "", name.removeprefix("template/backend/")).removesuffix(".jinja")
        for name in listed.stdout.splitlines()
    }
    moved = {name for name in old - template_paths() if not name.endswith("__init__.py")}
    assert moved - set(domain_layout.NEW_HOME) == set()


def test_after_the_update_each_lost_change_waits_next_to_its_new_home(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "backend/app/items").mkdir(parents=True)
    (tmp_path / "backend/app/mine.py").write_text(FOUNDER_02)
    (tmp_path / "backend/app/core").mkdir()
    (tmp_path / "backend/app/core/config.py").write_text("# still rendered: copier merged it\n")
    diff = "--- a/backend/app/api/routes/items.py\n+++ b/backend/app/api/routes/items.py\n@@ ...\n"
    saved = {
        "own_python": ["backend/app/mine.py"],
        "changes": {
            "backend/app/api/routes/items.py": diff,
            "backend/app/core/config.py": "a diff copier already merged\n",
            "backend/app/gone.py": "a diff of a file with no new home\n",
        },
    }
    told = domain_layout.after(saved)
    assert (tmp_path / "backend/app/items/routes.py.rej").read_text() == diff
    assert (tmp_path / "backend/app/gone.py.rej").read_text() == saved["changes"][
        "backend/app/gone.py"
    ]
    assert not (tmp_path / "backend/app/core/config.py.rej").exists()
    assert (tmp_path / "backend/app/mine.py").read_text() == domain_layout.rewrite_imports(
        FOUNDER_02
    )
    assert [line.split(":")[0] for line in told] == [
        "backend/app/mine.py",
        "backend/app/api/routes/items.py moved to backend/app/items/routes.py",
        "backend/app/gone.py is gone in 0.3.0",
    ]


def test_after_without_before_does_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    git(tmp_path, "init", "--quiet")
    assert domain_layout.main(["after", ".copier-answers.yml"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".git"]


def test_a_bad_stage_is_refused(capsys) -> None:
    assert domain_layout.main(["during", ".copier-answers.yml"]) == 2
    assert "usage: domain_layout.py before|after ANSWERS_FILE" in capsys.readouterr().err
