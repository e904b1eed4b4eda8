"""CPU per request of the API processes, as a multiple of a floor measured in the same run.

The floor (tests/bench_floor/floor_app.py: FastAPI, one route returning a dict, uvicorn with uvloop
and httptools, one worker), the project rendered at BEFORE_REF and the working tree's project are
served side by side; each round loads them one after another (the order turns every round), so the
load of a shared machine falls on all three alike. A figure is the CPU time (user + system) of every
process of one server (uv, `python -m app`, its workers) over the requests wrk got answered; wrk's
own CPU does not count. Each round gives a ratio to that round's floor; the report has the median
and the spread (lowest-highest) over the rounds.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nox

from tests.variant_checks import live_api
from tests.variant_checks.common import NOT_THE_NOX_VENV, free_port

FLOOR_APP = Path(__file__).parent / "bench_floor"
# Issue 36's goals: the working tree's CPU per request as a multiple of the floor's.
GOALS = {"bare": 1.5, "cached": 2.0}


@dataclass
class Server:
    """One server under load: its processes (found by API_PORT) and the requests it is given."""

    name: str
    port: int
    requests: Mapping[str, tuple[str, Mapping[str, str]]]  # phase -> (URL, headers)
    rounds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@contextlib.contextmanager
def floor(session: nox.Session, project: Path) -> Iterator[live_api.LiveApi]:
    """The floor app on uvicorn (uvloop, httptools, one worker), in `project`'s environment (the
    same FastAPI, uvicorn and Python as the project's API)."""
    port = free_port()
    log = Path(session.create_tmp()).resolve() / f"floor-{port}.log"
    env = {
        **{key: value for key, value in os.environ.items() if key not in NOT_THE_NOX_VENV},
        "API_PORT": str(port),  # how server_pids finds its processes, as for the API
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["uv", "run", "python", "-m", "uvicorn", "floor_app:app", f"--app-dir={FLOOR_APP}",
             "--host=127.0.0.1", f"--port={port}", "--loop=uvloop", "--http=httptools",
             "--workers=1", "--no-access-log", "--log-level=warning"],
            cwd=project / "backend", env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as live_api stops the API
        )  # fmt: skip
    api = live_api.LiveApi(url=f"http://127.0.0.1:{port}", metrics_url="", log=log, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                session.error(f"The floor app did not start:\n{live_api.tail(log)}")
            with contextlib.suppress(OSError):
                live_api.request(f"{api.url}/")
                break
            time.sleep(0.25)
        yield api
    finally:
        live_api.stop(process)


def figures(servers: list[Server]) -> dict[str, Any]:
    """Per server and phase: CPU us per request each round, and its multiple of that round's floor
    (the first server is the floor, with one phase)."""
    floor_server, *others = servers
    floor_us = [r["api_cpu_us_per_request"] for r in next(iter(floor_server.rounds.values()))]
    report: dict[str, Any] = {"floor": {"cpu_us": floor_us, **spread(floor_us)}}
    for server in others:
        report[server.name] = {}
        for phase, results in server.rounds.items():
            cpu_us = [r["api_cpu_us_per_request"] for r in results]
            ratios = [
                round(us / max(1, base), 2) for us, base in zip(cpu_us, floor_us, strict=True)
            ]
            report[server.name][phase] = {
                "cpu_us": cpu_us,
                "cpu_us_median": statistics.median(cpu_us),
                "requests_per_second": [r["requests_per_second"] for r in results],
                "x_floor": ratios,
                **spread(ratios),
            }
    return report


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "lowest": min(values), "highest": max(values)}


def table(report: Mapping[str, Any], before_ref: str) -> str:
    """The figures as the log shows them: each phase's multiple of the floor, now beside before."""
    lines = [
        f"CPU per request of the API processes, x the floor (median, lowest-highest over "
        f"{len(report['floor']['cpu_us'])} rounds); the floor: {report['floor']['median']} us "
        f"({report['floor']['lowest']}-{report['floor']['highest']})"
    ]
    for phase, goal in GOALS.items():
        cells = []
        for name in ("before", "now"):
            if phase in report.get(name, {}):
                f = report[name][phase]
                label = f"@{before_ref}" if name == "before" else "now"
                low_high = f"{f['lowest']}-{f['highest']}"
                cells.append(f"{label} {f['median']}x ({low_high}, {f['cpu_us_median']} us)")
        met = report["now"][phase]["median"] <= goal
        lines.append(f"  {phase:7} {' -> '.join(cells)}  goal <= {goal}x: "
                     f"{'met' if met else 'MISSED'}")  # fmt: skip
    return "\n".join(lines)
