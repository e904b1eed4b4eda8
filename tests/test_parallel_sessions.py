"""The default run's fan-out (tests/parallel_sessions.py), on a small noxfile of its own."""

from __future__ import annotations

from pathlib import Path

from tests import parallel_sessions

NOXFILE = """
import nox

@nox.session(venv_backend="none", tags=["suite"])
def quick(session):
    session.log("quick ran")

@nox.session(venv_backend="none", tags=["suite"])
@nox.parametrize("word", ["one", "two"])
def broken(session, word):
    session.log(f"broken {word} is about to fail")
    session.error(f"{word}: the reason it failed")

@nox.session(venv_backend="none")
def untagged(session):
    session.error("never run")
"""


def test_each_tagged_session_runs_once_and_a_failure_prints_its_log(tmp_path: Path) -> None:
    noxfile = tmp_path / "noxfile.py"
    noxfile.write_text(NOXFILE)
    said: list[str] = []

    names = parallel_sessions.tagged("suite", noxfile)
    outcomes = parallel_sessions.run(names, 2, said.append, noxfile)

    assert sorted(names) == ["broken(word='one')", "broken(word='two')", "quick"]
    assert {outcome.name: outcome.passed for outcome in outcomes} == {
        "broken(word='one')": False,
        "broken(word='two')": False,
        "quick": True,
    }
    printed = "\n".join(said)
    assert "one: the reason it failed" in printed and "two: the reason it failed" in printed
    assert "quick ran" not in printed  # a passing session's log stays in its file
    assert "quick ran" in next(o.log for o in outcomes if o.name == "quick").read_text()
    table = parallel_sessions.summary(outcomes, 1.0, 2)
    assert table.startswith("3 sessions, 2 at a time") and table.count("FAILED") == 2


def test_the_longest_sessions_start_first() -> None:
    names = ["lint", "variant(dev, frontend, py3.12)", "tests", "update", "docs"]
    ordered = parallel_sessions.longest_first(names)
    assert ordered[:3] == ["update", "tests", "variant(dev, frontend, py3.12)"]
    assert ordered[-1] in {"lint", "docs"}


def test_the_suite_lists_every_default_session_but_itself() -> None:
    names = parallel_sessions.tagged("suite")
    assert "suite" not in names
    assert {"lint", "tests", "combinations", "api", "update", "docs"} <= set(names)
    assert sum(name.startswith("variant(") for name in names) >= 9
