"""The plain copier CLI, as a founder runs it: refused without --trust, fast with it."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

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
