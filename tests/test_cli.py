"""The plain copier CLI, as a founder runs it: refused without --trust, fast with it."""

from __future__ import annotations

import subprocess
import sys

import yaml
from conftest import ROOT
from prompts import DOWN, ENTER, answer_prompts

from extensions.env_file import to_fill_message

COPIER = [sys.executable, "-m", "copier"]


def test_copy_without_trust_fails_with_copiers_trust_error_and_writes_nothing(tmp_path) -> None:
    destination = tmp_path / "my-app"
    run = subprocess.run(
        [*COPIER, "copy", "--defaults", "--vcs-ref=HEAD", str(ROOT), str(destination)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0
    assert "unsafe" in run.stderr.lower() and "--trust" in run.stderr
    assert not destination.exists()


def test_copy_with_trust_renders_and_says_what_to_do_next(tmp_path) -> None:
    destination = tmp_path / "my-app"
    run = subprocess.run(
        [
            *COPIER,
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref=HEAD",
            "--data=tier=mvp",
            "--data=domain=acme.example.org",
            ROOT,
            destination,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "make dev" in run.stderr and "make test" in run.stderr
    assert "about $17/month" in run.stderr
    assert (destination / ".copier-answers.yml").is_file()


def test_every_question_shows_its_whole_help_in_an_80_column_terminal(tmp_path) -> None:
    questions = {
        name: spec["help"]
        for name, spec in yaml.safe_load((ROOT / "copier.yml").read_text()).items()
        if not name.startswith("_")
    }
    # mvp (one down from dev) asks every question, the domain among them.
    keys = {"what it costs": DOWN + ENTER, "public domain": "app.example.org" + ENTER}
    transcript = answer_prompts(
        [*COPIER, "copy", "--trust", "--pretend", str(ROOT), str(tmp_path / "acme")],
        tmp_path,
        keys,
        columns=80,
    )
    assert transcript.status == 0, transcript.output[-3000:]
    assert len(transcript.screens) == len(questions)
    # A help longer than the terminal is cut at its edge, so it is never on screen whole.
    cut = [name for name, text in questions.items() if text not in transcript.output]
    assert not cut, f"help cut at 80 columns: {cut}\n{transcript.output[-3000:]}"


def test_the_values_to_fill_in_are_each_listed_with_their_own_comment(render) -> None:
    project = render(tier="mvp", sign_in_with=["github", "google"])
    listed = dict(
        line.strip().split(": ", 1)
        for line in to_fill_message(project).splitlines()[1:]  # after "Fill in N value(s)"
    )
    assert listed["OAUTH__GITHUB__CLIENT_ID"].startswith("GitHub > Settings > Developer settings")
    assert listed["OAUTH__GOOGLE__CLIENT_ID"].startswith("Google Cloud console > APIs")
    assert listed["SMTP_USER"].startswith("The SMTP user of your email provider")
    # No comment is read from a section's heading (its lines between "---" and "---").
    assert not [name for name, comment in listed.items() if "---" in comment]
