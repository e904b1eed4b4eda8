"""The `bench` nox session's measurements: the rendered mvp API served as production runs it, loaded
with wrk (Debian's) and the project's own locust test, against the performance targets of issue 8.

Everything runs on this machine: the API's workers, PostgreSQL, Redis and the load generator share
its cores, so absolute numbers are this machine's; the ratios between phases are what carry over.
The table goes to the log, the full report to .nox/bench-report.json (gitignored).
"""

from __future__ import annotations

import contextlib
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

from tests import cpu_per_request
from tests.variant_checks import live_api
from tests.variant_checks.common import NOT_THE_NOX_VENV, POSTGRES_URL, REDIS_URL, fresh_database
from tests.variants import REDIS_DATABASES
from tests.working_tree import copy_working_tree

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / ".nox" / "bench-report.json"
# The figures the generated docs/costs.md prices: written by each full run, committed for a release.
CAPACITY = ROOT / "extensions" / "capacity.json"
TIERS = ("dev", "mvp", "growth")

# The generated Makefile's `make loadtest-seed` defaults.
LOADTEST = tomllib.loads((ROOT / "extensions" / "shared.toml").read_text())["loadtest"]
SEED_USERS, SEED_ITEMS = LOADTEST["seed_users"], LOADTEST["seed_items"]
PHASE_SECONDS = 12
# The CPU comparison with the floor: rounds of shorter phases, medians and spread over the rounds.
CPU_ROUNDS, CPU_ROUND_SECONDS = 3, 8
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
# main's head when issue 36 (CPU per request) began: measured in the same run as the working tree
# and the floor (tests/cpu_per_request.py), so the CPU per request has a before and an after.
BEFORE_REF = "8a69b19"
# A machine that runs several benches at once gives each its own database.
BENCH_DATABASE = os.environ.get("NEOFORGE_BENCH_DATABASE", "nf_bench")
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
    ("locust_p95", "500 locust users, ~1 s think: p95 < 200 ms", "locust.p95_ms", "< 200"),
    ("locust_errors", "500 locust users: no errors but 503s", "locust.errors_not_503", "== 0"),
    ("stress_5xx", "stress: no 5xx but 503", "stress.other_5xx", "== 0"),
    ("stress_pool_timeouts", "stress: no pool timeouts logged",
     "stress.pool_timeouts_logged", "== 0"),
    ("recovery", "50 conns after stress: p95 within 20% of fresh", "recovery_p95_ratio", "<= 1.2"),
    ("cache_hit_ratio", "Zipf mix cache hit ratio >= 90%", "locust.cache_hit_ratio", ">= 0.9"),
    ("cached_vs_uncached", "cached list >= 3x uncached", "cached_vs_uncached", ">= 3"),
    ("cached_vs_bare", "cached list >= 50% of bare", "cached_vs_bare", ">= 0.5"),
    ("worker_rss", "API worker RSS <= 150 MB", "worker_rss_mb_max", "<= 150"),
    ("copier_copy", "copier copy median ~1 s or less (slowest tier)",
     "copier_median_s_max", "<= 1.2"),
]  # fmt: skip


def run(
    session: nox.Session, project: Path, before: Path | None = None, *, cpu_only: bool = False
) -> None:
    """Every phase in one run; the table in the log and the JSON report in REPORT. First the CPU
    per request against the floor, with `before` (the project rendered at BEFORE_REF) beside;
    `cpu_only` stops there."""
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "seed": {}}
    tmp = Path(session.create_tmp()).resolve()  # locust runs in the project: absolute paths
    script = tmp / "status.lua"
    script.write_text(WRK_SCRIPT)
    database_url = fresh_database(session, BENCH_DATABASE)
    redis_url = f"{REDIS_URL}/{REDIS_DATABASES['bench']}"

    # Migrated and seeded once, for every API below (the API at BEFORE_REF reads a subset of them).
    database = {"DATABASE_URL": database_url}
    project_run(session, project, ["alembic", "upgrade", "head"], database)
    started = time.perf_counter()
    project_run(session, project, ["python", "-m", "loadtest.seed",
                f"--users={SEED_USERS}", f"--items={SEED_ITEMS}"], database)  # fmt: skip
    report["seed"] = {
        "users": SEED_USERS,
        "items": SEED_ITEMS,
        "seconds": round(time.perf_counter() - started, 2),
    }

    report["cpu"] = cpu_against_floor(session, script, project, before, database_url)
    if cpu_only:
        REPORT.parent.mkdir(exist_ok=True)
        REPORT.write_text(json.dumps(report, indent=2))
        session.log("\n" + cpu_per_request.table(report["cpu"], BEFORE_REF) + f"\nReport: {REPORT}")
        return

    with live_api.running(
        session, project, database_url=database_url, redis_url=redis_url, env=BENCH_ENV
    ) as api:
        report["workers"] = api.env.get("WEB_CONCURRENCY", "tier default")
        auth = {"Authorization": f"Bearer {sign_in(api.url)}"}
        live_api.request(f"{api.url}{LIST}", headers=auth)  # fills the cache

        report["bare"], report["cached"] = bare_and_cached(session, script, api, auth)
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
        # The pool's connections are open after a first load: their backends are the ones to count.
        wrk(session, script, f"{api.url}{LIST}", CONNECTIONS, auth, seconds=2)
        database = urllib.parse.urlsplit(database_url).path.lstrip("/")
        processes = {"api": server_pids(port_of(api)), "redis": redis_pids(),
                     "postgres": postgres_pids(session, database)}  # fmt: skip
        report["uncached"] = wrk(
            session, script, f"{api.url}{LIST}", CONNECTIONS, auth, cpu=processes
        )

    report["jobs_per_second"] = job_rate(session, project, database_url)
    report["copier_copy_median_s"] = copier_medians(session, tmp)
    derive(report)
    report["machine"]["load_average_1m"] = round(os.getloadavg()[0], 2)
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2))
    CAPACITY.write_text(json.dumps(capacity_figures(report), indent=2) + "\n")
    session.log("\n" + table(report) + f"\nReport: {REPORT}\nCapacity figures: {CAPACITY}")


def capacity_figures(report: Mapping[str, Any]) -> dict[str, Any]:
    """What the generated docs/costs.md prices (extensions/context.py:capacity): the CPU of one
    cached and one uncached read of the mvp API, recorded with where and when it was measured."""
    cached, uncached = report["cached"], report["uncached"]
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    return {
        "measured_by": "nox -s bench (tests/benchmarks.py)",
        "recorded": time.strftime("%Y-%m-%d"),
        "template_commit": commit,
        "machine_cpus": report["machine"]["cpus"],
        # Other work on the machine inflates CPU time per request: record how busy it was.
        "load_average_1m": report["machine"]["load_average_1m"],
        "floor_cpu_us": report["cpu"]["floor"]["median"],
        "cpu_us_per_request": {
            # The median over the rounds against the floor; Redis's from the longer phase.
            "cached_read": {
                "api": report["cpu"]["now"]["cached"]["cpu_us_median"],
                "redis": cached["redis_cpu_us_per_request"],
            },
            "uncached_read": {
                name: uncached[f"{name}_cpu_us_per_request"]
                for name in ("api", "redis", "postgres")
            },
        },
    }


def cpu_against_floor(
    session: nox.Session, script: Path, project: Path, before: Path | None, database_url: str
) -> dict[str, Any]:
    """The floor, the API at BEFORE_REF and the working tree's API served at once, each with its
    own Redis database, then loaded in turns (tests/cpu_per_request.py)."""
    with contextlib.ExitStack() as serving:
        floor = serving.enter_context(cpu_per_request.floor(session, project))
        servers = [
            cpu_per_request.Server("floor", port_of(floor), {"floor": (f"{floor.url}/", {})})
        ]
        for name, rendered in (("before", before), ("now", project)):
            if rendered is None:
                continue
            api = serving.enter_context(
                live_api.running(
                    session,
                    rendered,
                    database_url=database_url,
                    redis_url=f"{REDIS_URL}/{REDIS_DATABASES[f'bench_{name}']}",
                    env=BENCH_ENV,
                    # The database is migrated by the working tree's project (a newer head).
                    migrate=name == "now",
                )
            )
            auth = {"Authorization": f"Bearer {sign_in(api.url)}"}
            live_api.request(f"{api.url}{LIST}", headers=auth)  # fills the cache
            phases = {"bare": (f"{api.url}/health/live", {}), "cached": (f"{api.url}{LIST}", auth)}
            servers.append(cpu_per_request.Server(name, port_of(api), phases))
        return measure(session, script, servers)


def server_pids(port: int) -> list[int]:
    """Every process of the server on `port`: uv, the server and its workers all carry API_PORT."""
    marker = f"API_PORT={port}".encode()
    return [pid for pid, _ in processes() if marker in read_proc(pid, "environ").split(b"\0")]


def measure(
    session: nox.Session,
    script: Path,
    servers: list[cpu_per_request.Server],
    rounds: int = CPU_ROUNDS,
) -> dict[str, Any]:
    """`rounds` rounds over every server's phases, the order turned each round; the figures."""
    for number in range(rounds):
        turn = number % len(servers)
        for server in servers[turn:] + servers[:turn]:
            pids = {"api": server_pids(server.port)}
            for phase, (url, headers) in server.requests.items():
                result = wrk(
                    session, script, url, CONNECTIONS, headers,
                    cpu=pids, seconds=CPU_ROUND_SECONDS,
                )  # fmt: skip
                server.rounds.setdefault(phase, []).append(result)
    return cpu_per_request.figures(servers)


def before_is_here() -> bool:
    """Whether this clone has BEFORE_REF (a shallow clone may not)."""
    found = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{BEFORE_REF}^{{commit}}"],
        check=False,
        capture_output=True,
    )
    return found.returncode == 0


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


def bare_and_cached(
    session: nox.Session, script: Path, api: live_api.LiveApi, auth: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The bare endpoint, then the cached list (filled already), each with its CPU per request."""
    processes = {"api": server_pids(port_of(api)), "redis": redis_pids()}
    bare = wrk(session, script, f"{api.url}/health/live", CONNECTIONS, cpu=processes)
    cached = wrk(session, script, f"{api.url}{LIST}", CONNECTIONS, auth, cpu=processes)
    return bare, cached


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
    cpu: Mapping[str, list[int]] | None = None,
    seconds: int = PHASE_SECONDS,
) -> dict[str, Any]:
    """A closed-loop wrk run: `connections` connections, no think time, `seconds` long. With
    `cpu` ({"api": pids, ...}), also the CPU time those processes spent per request, in us."""
    spent_before = {name: cpu_seconds(pids) for name, pids in (cpu or {}).items()}
    header_args = [
        arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")
    ]
    output = session.run(
        "wrk", "--threads=2", f"--connections={connections}", f"--duration={seconds}s",
        f"--timeout={timeout}s", f"--script={script}", *header_args, url,
        external=True, silent=True,
    )  # fmt: skip
    line = next(line for line in str(output).splitlines() if line.startswith("WRK_JSON "))
    result = json.loads(line.removeprefix("WRK_JSON "))
    result["requests_per_second"] = round(result["requests"] / result["seconds"], 1)
    result["connections"] = connections
    for name, pids in (cpu or {}).items():
        spent = cpu_seconds(pids) - spent_before[name]
        result[f"{name}_cpu_us_per_request"] = round(spent * 1e6 / max(1, result["requests"]))
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
            f"--summary-json={summary}", f"--metrics-url={api.metrics_url}", "--loglevel=WARNING",
        ],
        {},
        success_codes=[0, 1],  # 1: some requests failed, which the summary reports
    )  # fmt: skip
    return json.loads(summary.read_text())


def worker_pids(api_url: str) -> list[int]:
    """The uvicorn workers serving `api_url`: multiprocessing children of `python -m app` that
    carry its API_PORT."""
    port = f"API_PORT={urllib.parse.urlsplit(api_url).port}".encode()
    return [pid for pid, cmdline in processes()
            if b"spawn_main" in cmdline and port in read_proc(pid, "environ")]  # fmt: skip


def port_of(api: live_api.LiveApi) -> int:
    return urllib.parse.urlsplit(api.url).port or 80


def postgres_pids(session: nox.Session, database: str) -> list[int]:
    """The PostgreSQL backends connected to `database` (the API's pool, open by now)."""
    output = session.run(
        "psql", f"{POSTGRES_URL}/postgres", "-Atc",
        f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'",
        external=True, silent=True,
    )  # fmt: skip
    return [int(line) for line in str(output).split() if line.isdigit()]


def redis_pids() -> list[int]:
    """The redis-server answering REDIS_URL (the bench's Redis runs on this machine)."""
    port = f":{urllib.parse.urlsplit(REDIS_URL).port or 6379}".encode()
    return [pid for pid, cmdline in processes() if b"redis-server" in cmdline and port in cmdline]


def processes() -> list[tuple[int, bytes]]:
    return [(int(proc.name), read_proc(int(proc.name), "cmdline"))
            for proc in Path("/proc").iterdir() if proc.name.isdigit()]  # fmt: skip


def read_proc(pid: int, name: str) -> bytes:
    try:
        return (Path("/proc") / str(pid) / name).read_bytes()
    except OSError:  # gone meanwhile, or not ours to read
        return b""


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes have used so far (/proc/<pid>/stat)."""
    ticks = 0
    for pid in pids:
        fields = read_proc(pid, "stat").rpartition(b")")[2].split()
        ticks += int(fields[11]) + int(fields[12]) if len(fields) > 12 else 0
    return ticks / os.sysconf("SC_CLK_TCK")


def worker_rss_mb(api_url: str) -> list[float]:
    """Resident memory of each uvicorn worker serving `api_url`."""
    sizes = []
    for pid in worker_pids(api_url):
        match = re.search(rb"^VmRSS:\s+(\d+) kB", read_proc(pid, "status"), re.MULTILINE)
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
            # Every tier past dev asks for the founder's domain: it has no default.
            domain = [] if tier == "dev" else [f"--data=domain=bench-{tier}.example.org"]
            subprocess.run(
                [copier, "copy", "--trust", "--defaults", "--quiet", f"--data=tier={tier}",
                 f"--data=project_name=bench-{tier}", *domain, str(snapshot), str(dest)],
                check=True, capture_output=True, env=WITH_BYTECODE,
            )  # fmt: skip
            times.append(time.perf_counter() - started)
            shutil.rmtree(dest)
        medians[tier] = round(statistics.median(times), 2)
    return medians


def derive(report: dict[str, Any]) -> None:
    cached = report["cached"]["requests_per_second"]
    report["cached_vs_uncached"] = round(cached / report["uncached"]["requests_per_second"], 2)
    report["cached_vs_bare"] = cached_vs_bare(report)
    report["recovery_p95_ratio"] = round(
        report["after_stress"]["p95_ms"] / report["cached"]["p95_ms"], 2
    )
    report["worker_rss_mb_max"] = max(report["worker_rss_mb"] or [0])
    locust = report["locust"]
    # Requests shed on purpose: LocustBadStatusCode(code=503), or a login answered 503.
    shed = sum(n for kind, n in locust["error_kinds"].items() if re.search(r"\b503\b", kind))
    locust["errors_not_503"] = locust["errors"] - shed
    report["copier_median_s_max"] = max(report["copier_copy_median_s"].values())
    report["targets"] = {
        name: {
            "target": text,
            "value": value(report, path),
            "met": meets(value(report, path), rule),
        }
        for name, text, path, rule in TARGETS
    }


def cached_vs_bare(phases: Mapping[str, Any]) -> float:
    """The cached list's throughput as a share of the bare endpoint's, in one run."""
    return round(phases["cached"]["requests_per_second"] / phases["bare"]["requests_per_second"], 2)


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


def cpu_cell(phase: Mapping[str, Any]) -> str:
    """CPU us per request: the API's processes + Redis (+ PostgreSQL), where a phase measured it."""
    return " + ".join(
        str(phase[f"{name}_cpu_us_per_request"])
        for name in ("api", "redis", "postgres")
        if f"{name}_cpu_us_per_request" in phase
    )


def table(report: dict[str, Any]) -> str:
    rows = [("phase", "conns", "req/s", "p50 ms", "p95 ms", "p99 ms", "CPU us/req api+redis(+pg)",
             "statuses / errors")]  # fmt: skip
    phases = [(phase, report[phase]) for phase in ("bare", "cached", "uncached", "stress",
                                                  "after_stress")]  # fmt: skip
    for phase, r in phases:
        rows.append((phase, str(r["connections"]), f"{r['requests_per_second']:.0f}",
                     f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['p99_ms']:.1f}", cpu_cell(r),
                     f"{r['statuses']} socket errors {r['socket_errors']}"))  # fmt: skip
    loc = report["locust"]
    rows.append(("locust mix", f"{LOCUST_USERS} users", f"{loc['requests_per_second']:.0f}",
                 f"{loc['p50_ms']:.0f}", f"{loc['p95_ms']:.0f}", f"{loc['p99_ms']:.0f}", "",
                 f"errors {loc['errors']} ({loc['errors_not_503']} not 503), "
                 f"cache hit ratio {loc['cache_hit_ratio']}"))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.append("")
    for name, target in report["targets"].items():
        mark = {True: "met", False: "MISSED", None: "n/a"}[target["met"]]
        lines.append(f"{mark:7} {name:22} {target['value']!s:>10}  {target['target']}")
    lines.append(cpu_per_request.table(report["cpu"], BEFORE_REF))
    lines.append(f"worker RSS MB: {report['worker_rss_mb']}; copier copy medians (s): "
                 f"{report['copier_copy_median_s']}")  # fmt: skip
    return "\n".join(lines)
