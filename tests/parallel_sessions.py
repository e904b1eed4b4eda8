"""The default `nox` run: the sessions tagged "suite", run as separate nox processes side by side.

Each session's output goes to its own log in .nox/logs/; a line is printed as each one ends, the
whole tail of a failed one's log right after it, then every session's time. The longest sessions
start first so that the lanes end together.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOXFILE = ROOT / "noxfile.py"
# Rough minutes per session, 3 at a time on 2 cores (a name's part before "("): longest first,
# so that no long one starts last.
EXPECTED_MINUTES = {"update": 15, "tests": 6, "combinations": 10, "variant": 4.5, "api": 2}
TAIL_LINES = 150


@dataclass(frozen=True)
class Outcome:
    name: str
    seconds: float
    exit_code: int
    log: Path

    @property
    def passed(self) -> bool:
        return self.exit_code == 0


def nox_command(noxfile: Path, *args: str) -> list[str]:
    """nox as this process runs it (uvx's nox, or the one in a venv)."""
    return [sys.executable, "-m", "nox", "--noxfile", str(noxfile), *args]


def tagged(tag: str, noxfile: Path = NOXFILE) -> list[str]:
    """The full ids ("variant(mvp, frontend, py3.12, github)") of the sessions tagged `tag`."""
    listing = subprocess.run(
        nox_command(noxfile, "--tags", tag, "--list", "--json"),
        check=True,
        capture_output=True,
        text=True,
    )
    return [entry["session"] for entry in json.loads(listing.stdout)]


def longest_first(names: list[str]) -> list[str]:
    return sorted(names, key=lambda name: -EXPECTED_MINUTES.get(name.split("(")[0], 1))


def run_session(name: str, noxfile: Path) -> Outcome:
    """One nox session in its own process, its output in .nox/logs/ next to `noxfile`."""
    logs = noxfile.parent / ".nox" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / (re.sub(r"[^A-Za-z0-9.]+", "-", name).strip("-") + ".log")
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.run(
            nox_command(noxfile, "--session", name),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=noxfile.parent,
        )
    return Outcome(name, time.monotonic() - started, process.returncode, log)


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def run(
    names: list[str], jobs: int, say: Callable[[str], None], noxfile: Path = NOXFILE
) -> list[Outcome]:
    """Run `names`, `jobs` at a time, longest first; report each as it ends."""
    outcomes = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        running = [pool.submit(run_session, name, noxfile) for name in longest_first(names)]
        for future in as_completed(running):
            outcome = future.result()
            outcomes.append(outcome)
            verdict = "passed" if outcome.passed else f"FAILED (exit {outcome.exit_code})"
            say(f"{outcome.name}: {verdict} in {minutes(outcome.seconds)}; log {outcome.log}")
            if not outcome.passed:
                say(f"--- the last {TAIL_LINES} lines of {outcome.log} ---\n{tail(outcome.log)}")
    return outcomes


def summary(outcomes: list[Outcome], wall_seconds: float, jobs: int) -> str:
    rows = [
        f"  {minutes(o.seconds):>7}  {'ok    ' if o.passed else 'FAILED'}  {o.name}"
        for o in sorted(outcomes, key=lambda o: -o.seconds)
    ]
    total = sum(outcome.seconds for outcome in outcomes)
    head = (
        f"{len(outcomes)} sessions, {jobs} at a time: {minutes(wall_seconds)} "
        f"(their times add up to {minutes(total)})"
    )
    return "\n".join([head, *rows])
