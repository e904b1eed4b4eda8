"""migrations/rename_env.py: what a release's `_migrations` entry runs on the founder's .env."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import copier
import pytest

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
