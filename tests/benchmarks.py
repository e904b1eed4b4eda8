"""The `bench` nox session's measurements: the rendered mvp API served as production runs it, loaded
with wrk (Debian's) and the project's own locust test, against the performance targets of issue 8.

Everything runs on this machine: the API's workers, PostgreSQL, Redis and the load generator share
its cores, so absolute numbers are this machine's; the ratios between phases are what carry over.
The table goes to the log, the full report to .nox/bench-report.json (gitignored).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import time
import tomllib
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nox

from tests.variant_checks import live_api
from tests.variant_checks.common import NOT_THE_NOX_VENV, REDIS_URL, fresh_database
from tests.variants import REDIS_DATABASES
from tests.working_tree import copy_working_tree

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / ".nox" / "bench-report.json"
TIERS = ("dev", "mvp", "growth")

# The generated Makefile's `make loadtest-seed` defaults.
LOADTEST = tomllib.loads((ROOT / "extensions" / "shared.toml").read_text())["loadtest"]
SEED_USERS, SEED_ITEMS = LOADTEST["seed_users"], LOADTEST["seed_items"]
PHASE_SECONDS = 12
CONNECTIONS, STRESS_CONNECTIONS = 50, 500
# Ramp at 10 people a second: each signs in once (argon2, ~50 ms of a core by design), and 50 a
# second would be 2.5 cores of hashing on a 2-core machine. Stats count from the end of the ramp
# (--reset-stats): 50 s of ramp, then 40 s of steady state.
LOCUST_USERS, LOCUST_SPAWN_RATE, LOCUST_SECONDS = 500, 10, 90
LIST = "/api/v1/items?offset=0&limit=20"
# The heaviest seeded account: its first page is the hottest key of the Zipf mix.
BENCH_ACCOUNT = "user-000000@loadtest.example.com"
BENCH_PASSWORD = "Loadtest-password-1"  # the seeded throwaway accounts' password
# wrk sends one token as fast as it can: far above a person's API limit, which is not under test.
BENCH_ENV = {"RATE_LIMIT__API_PER_MINUTE": "100000000"}
POOL_TIMEOUT_LOG = "Database pool exhausted"

# Counts responses by status in every wrk thread; done() adds them up and prints one JSON line.
WRK_SCRIPT = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do counts[code] = (counts[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(counts) do table.insert(parts, string.format('"%d":%d', code, n)) end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"seconds":%.3f,"p50_ms":%.2f,"p95_ms":%.2f,"p99_ms":%.2f,' ..
    '"socket_errors":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(95) / 1e3, latency:percentile(99) / 1e3,
    e.connect + e.read + e.write + e.timeout, table.concat(parts, ",")))
end
"""

TARGETS = [
    # (name, what it asks, where the report has the value, the rule the value must meet)
    ("locust_p95", "500 locust users, ~1 s think: p95 < 100 ms", "locust.p95_ms", "< 100"),
    ("locust_errors", "500 locust users: zero errors", "locust.errors", "== 0"),
    ("stress_5xx", "stress: no 5xx but 503", "stress.other_5xx", "== 0"),
    ("stress_pool_timeouts", "stress: no pool timeouts logged",
     "stress.pool_timeouts_logged", "== 0"),
    ("recovery", "50 conns after stress: p95 within 20% of fresh", "recovery_p95_ratio", "<= 1.2"),
    ("cache_hit_ratio", "Zipf mix cache hit ratio >= 90%", "locust.cache_hit_ratio", ">= 0.9"),
    ("cached_vs_uncached", "cached list >= 3x uncached", "cached_vs_uncached", ">= 3"),
    ("cached_vs_bare", "cached list >= 60% of bare", "cached_vs_bare", ">= 0.6"),
    ("worker_rss", "API worker RSS <= 150 MB", "worker_rss_mb_max", "<= 150"),
    ("copier_copy", "copier copy median ~1 s or less (slowest tier)",
     "copier_median_s_max", "<= 1.2"),
]  # fmt: skip


def run(session: nox.Session, project: Path) -> None:
    """Every phase in one run; the table in the log and the JSON report in REPORT."""
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "seed": {}}
    tmp = Path(session.create_tmp()).resolve()  # locust runs in the project: absolute paths
    script = tmp / "status.lua"
    script.write_text(WRK_SCRIPT)
    database_url = fresh_database(session, "nf_bench")
    redis_url = f"{REDIS_URL}/{REDIS_DATABASES['bench']}"

    with live_api.running(
        session, project, database_url=database_url, redis_url=redis_url, env=BENCH_ENV
    ) as api:
        report["workers"] = api.env.get("WEB_CONCURRENCY", "tier default")
        started = time.perf_counter()
        project_run(session, project, ["python", "-m", "loadtest.seed",
                    f"--users={SEED_USERS}", f"--items={SEED_ITEMS}"], api.env)  # fmt: skip
        report["seed"] = {
            "users": SEED_USERS,
            "items": SEED_ITEMS,
            "seconds": round(time.perf_counter() - started, 2),
        }
        token = sign_in(api.url)
        auth = {"Authorization": f"Bearer {token}"}
        live_api.request(f"{api.url}{LIST}", headers=auth)  # fills the cache

        report["bare"] = wrk(session, script, f"{api.url}/health/live", CONNECTIONS)
        report["cached"] = wrk(session, script, f"{api.url}{LIST}", CONNECTIONS, auth)
        log_mark = api.log.stat().st_size
        stress = wrk(session, script, f"{api.url}{LIST}", STRESS_CONNECTIONS, auth, timeout=30)
        stress["pool_timeouts_logged"] = api.log.read_bytes()[log_mark:].count(
            POOL_TIMEOUT_LOG.encode()
        )
        stress["other_5xx"] = sum(
            n for code, n in stress["statuses"].items() if code.startswith("5") and code != "503"
        )
        report["stress"] = stress
        report["after_stress"] = wrk(session, script, f"{api.url}{LIST}", CONNECTIONS, auth)
        report["locust"] = locust(session, project, api, tmp / "locust.json")
        report["worker_rss_mb"] = worker_rss_mb(api.url)

    with live_api.running(
        session,
        project,
        database_url=database_url,
        redis_url=redis_url,
        env={**BENCH_ENV, "CACHE_ENABLED": "false"},
    ) as api:
        auth = {"Authorization": f"Bearer {sign_in(api.url)}"}
        report["uncached"] = wrk(session, script, f"{api.url}{LIST}", CONNECTIONS, auth)

    report["jobs_per_second"] = job_rate(session, project, database_url)
    report["copier_copy_median_s"] = copier_medians(session, tmp)
    derive(report)
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2))
    session.log("\n" + table(report) + f"\nReport: {REPORT}")


def project_run(
    session: nox.Session,
    project: Path,
    args: list[str],
    env: Mapping[str, str],
    success_codes: list[int] | None = None,
) -> None:
    with session.chdir(project / "backend"):
        session.run(
            "uv", "run", *args,
            env={**env, **NOT_THE_NOX_VENV}, external=True, success_codes=success_codes or [0],
        )  # fmt: skip


def job_rate(session: nox.Session, project: Path, database_url: str) -> float:
    """No-op jobs one worker runs per second (the project's loadtest/jobs.py), printed as a figure:
    issue 14 sets no target for it."""
    with session.chdir(project / "backend"):
        output = session.run(
            "uv", "run", "python", "-m", "loadtest.jobs", "--jobs=2000",
            env={"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", **NOT_THE_NOX_VENV},
            external=True, silent=True,
        )  # fmt: skip
    line = next(line for line in str(output).splitlines() if "jobs/s" in line)
    session.log(f"Job queue: {line}")
    return float(re.search(r"([\d.]+) jobs/s", line).group(1))  # type: ignore[union-attr]


def sign_in(api_url: str) -> str:
    form = urllib.parse.urlencode({"username": BENCH_ACCOUNT, "password": BENCH_PASSWORD})
    answer = live_api.request(f"{api_url}/api/v1/auth/login", form.encode())
    return json.loads(answer)["access_token"]


def wrk(
    session: nox.Session,
    script: Path,
    url: str,
    connections: int,
    headers: Mapping[str, str] | None = None,
    *,
    timeout: int = 10,
) -> dict[str, Any]:
    """A closed-loop wrk run: `connections` connections, no think time, PHASE_SECONDS long."""
    header_args = [
        arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")
    ]
    output = session.run(
        "wrk", "--threads=2", f"--connections={connections}", f"--duration={PHASE_SECONDS}s",
        f"--timeout={timeout}s", f"--script={script}", *header_args, url,
        external=True, silent=True,
    )  # fmt: skip
    line = next(line for line in str(output).splitlines() if line.startswith("WRK_JSON "))
    result = json.loads(line.removeprefix("WRK_JSON "))
    result["requests_per_second"] = round(result["requests"] / result["seconds"], 1)
    result["connections"] = connections
    session.log(f"{connections} connections: {json.dumps(result)}")
    return result


def locust(
    session: nox.Session, project: Path, api: live_api.LiveApi, summary: Path
) -> dict[str, Any]:
    """The project's own locust mix (backend/loadtest/), headless, as `make loadtest` runs it."""
    project_run(
        session,
        project,
        [
            "locust", "--locustfile=loadtest/locustfile.py", "--headless", "--only-summary",
            f"--host={api.url}", f"--users={LOCUST_USERS}", f"--spawn-rate={LOCUST_SPAWN_RATE}",
            f"--run-time={LOCUST_SECONDS}s", "--reset-stats", f"--seeded-users={SEED_USERS}",
            f"--summary-json={summary}", "--loglevel=WARNING",
        ],
        {},
        success_codes=[0, 1],  # 1: some requests failed, which the summary reports
    )  # fmt: skip
    return json.loads(summary.read_text())


def worker_rss_mb(api_url: str) -> list[float]:
    """Resident memory of each uvicorn worker serving `api_url` (multiprocessing children of
    `python -m app` that carry its API_PORT)."""
    port = f"API_PORT={urllib.parse.urlsplit(api_url).port}".encode()
    sizes = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            if b"spawn_main" not in cmdline or port not in (proc / "environ").read_bytes():
                continue
            status = (proc / "status").read_text()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        if match:
            sizes.append(round(int(match.group(1)) / 1024, 1))
    return sorted(sizes)


# Python caches compiled modules on a founder's machine after the first run; a machine that sets
# PYTHONDONTWRITEBYTECODE (as CI sandboxes do) would compile all of Copier on every run instead.
WITH_BYTECODE = {
    name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"
}


def copier_medians(session: nox.Session, tmp: Path) -> dict[str, float]:
    """Median wall time of 5 `copier copy --trust --defaults` per tier, from a snapshot of the
    working tree (tracked and new files, as --vcs-ref=HEAD renders; no .nox or .git to copy)."""
    snapshot = tmp / "template-snapshot"
    shutil.rmtree(snapshot, ignore_errors=True)
    copy_working_tree(snapshot)
    copier = shutil.which("copier", path=session.bin) or "copier"
    medians = {}
    for tier in TIERS:
        times = []
        for attempt in range(5):
            dest = tmp / f"copy-{tier}-{attempt}"
            started = time.perf_counter()
            subprocess.run(
                [copier, "copy", "--trust", "--defaults", "--quiet", f"--data=tier={tier}",
                 f"--data=project_name=bench-{tier}", str(snapshot), str(dest)],
                check=True, capture_output=True, env=WITH_BYTECODE,
            )  # fmt: skip
            times.append(time.perf_counter() - started)
            shutil.rmtree(dest)
        medians[tier] = round(statistics.median(times), 2)
    return medians


def derive(report: dict[str, Any]) -> None:
    cached = report["cached"]["requests_per_second"]
    report["cached_vs_uncached"] = round(cached / report["uncached"]["requests_per_second"], 2)
    report["cached_vs_bare"] = round(cached / report["bare"]["requests_per_second"], 2)
    report["recovery_p95_ratio"] = round(
        report["after_stress"]["p95_ms"] / report["cached"]["p95_ms"], 2
    )
    report["worker_rss_mb_max"] = max(report["worker_rss_mb"] or [0])
    report["copier_median_s_max"] = max(report["copier_copy_median_s"].values())
    report["targets"] = {
        name: {
            "target": text,
            "value": value(report, path),
            "met": meets(value(report, path), rule),
        }
        for name, text, path, rule in TARGETS
    }


def value(report: dict[str, Any], path: str) -> Any:
    for key in path.split("."):
        report = report[key]
    return report


def meets(measured: Any, rule: str) -> bool | None:
    if measured is None:
        return None
    operator, bound = rule.split()
    checks = {"<": float.__lt__, "<=": float.__le__, "==": float.__eq__, ">=": float.__ge__}
    return checks[operator](float(measured), float(bound))


def table(report: dict[str, Any]) -> str:
    rows = [("phase", "conns", "req/s", "p50 ms", "p95 ms", "p99 ms", "statuses / errors")]
    for phase in ("bare", "cached", "uncached", "stress", "after_stress"):
        r = report[phase]
        rows.append((phase, str(r["connections"]), f"{r['requests_per_second']:.0f}",
                     f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['p99_ms']:.1f}",
                     f"{r['statuses']} socket errors {r['socket_errors']}"))  # fmt: skip
    loc = report["locust"]
    rows.append(("locust mix", f"{LOCUST_USERS} users", f"{loc['requests_per_second']:.0f}",
                 f"{loc['p50_ms']:.0f}", f"{loc['p95_ms']:.0f}", f"{loc['p99_ms']:.0f}",
                 f"errors {loc['errors']}, cache hit ratio {loc['cache_hit_ratio']}"))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.append("")
    for name, target in report["targets"].items():
        mark = {True: "met", False: "MISSED", None: "n/a"}[target["met"]]
        lines.append(f"{mark:7} {name:22} {target['value']!s:>10}  {target['target']}")
    lines.append(f"worker RSS MB: {report['worker_rss_mb']}; copier copy medians (s): "
                 f"{report['copier_copy_median_s']}")  # fmt: skip
    return "\n".join(lines)
