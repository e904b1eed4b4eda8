"""Faults injected under load: the mvp API served as production runs it (`live_api.running`), on
its own redis-server and its own PostgreSQL cluster on loopback, which are stopped and started
while clients keep reading and writing. The statuses are counted per fault.

    Redis restart        no 5xx; the cache hit ratio is back within 2 s of Redis answering again
    PostgreSQL restart   no 500: while it is down or starting up the API answers 503 + Retry-After

Throwaway servers, never the shared ones: PostgreSQL refuses to run as root, so its cluster is
made and run as the `postgres` OS user.
"""

from __future__ import annotations

import collections
import contextlib
import glob
import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nox

from tests.variant_checks import live_api
from tests.variant_checks.common import free_port

# The cache hit ratio counts as back once a quarter second of reads is at least this ratio.
RECOVERED_HIT_RATIO = 0.8
RECOVERY_TARGET_SECONDS = 2.0
READERS, WRITERS = 8, 4


@dataclass
class Answer:
    at: float
    kind: str  # "read" or "write"
    status: int | str  # the HTTP status, or the connection error's name
    cache: str = ""


@dataclass
class Load:
    """Threads that read a cached list and create items, as fast as the API answers."""

    url: str
    readers: list[str]
    writers: list[str]
    answers: list[Answer] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)

    def _call(self, kind: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        data = json.dumps({"title": "under load"}).encode() if kind == "write" else None
        request = urllib.request.Request(f"{self.url}/api/v1/items", data, headers)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = Answer(started, kind, response.status, response.headers["X-Cache"] or "")
        except urllib.error.HTTPError as error:
            answer = Answer(started, kind, error.code)
        except OSError as error:
            answer = Answer(started, kind, type(error).__name__)
            time.sleep(0.05)
        self.answers.append(answer)

    def _run(self, kind: str, token: str) -> None:
        while not self.stopped.is_set():
            self._call(kind, token)

    @contextlib.contextmanager
    def running(self) -> Iterator[Load]:
        threads = [threading.Thread(target=self._run, args=("read", t)) for t in self.readers]
        threads += [threading.Thread(target=self._run, args=("write", t)) for t in self.writers]
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self.stopped.set()
            for thread in threads:
                thread.join(timeout=15)

    def statuses(self, since: float, until: float) -> dict[str, int]:
        counted = collections.Counter(
            str(answer.status) for answer in self.answers if since <= answer.at < until
        )
        return dict(sorted(counted.items()))

    def hit_ratio_back_after(self, since: float) -> float | None:
        """Seconds from `since` to the first quarter second of reads that are mostly HITs."""
        buckets: dict[int, list[bool]] = collections.defaultdict(list)
        for answer in self.answers:
            if answer.kind == "read" and answer.at >= since and answer.status == 200:
                buckets[int((answer.at - since) / 0.25)].append(answer.cache == "HIT")
        for bucket in sorted(buckets):
            hits = buckets[bucket]
            if len(hits) >= 5 and sum(hits) / len(hits) >= RECOVERED_HIT_RATIO:
                return bucket * 0.25
        return None


class RedisServer:
    def __init__(self, session: nox.Session, directory: Path) -> None:
        self.session = session
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> float:
        """Start redis-server (empty: no persistence, as after a crash); when it answers."""
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ping = subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, check=False
            )
            if ping.stdout.strip() == b"PONG":
                return time.monotonic()
            time.sleep(0.02)
        self.session.error("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # as a crash or an OOM kill does: no goodbye to the clients
            self.process.wait(timeout=10)


class PostgresCluster:
    """A throwaway cluster, owned and run by the `postgres` OS user."""

    def __init__(self, session: nox.Session, directory: Path) -> None:
        self.session = session
        self.port = free_port()
        self.directory = directory
        [self.bin] = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1:]

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *command: str) -> None:
        self.session.run("runuser", "-u", "postgres", "--", *command, external=True, silent=True)

    def create(self) -> None:
        if self.directory.exists():
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True)
        shutil.chown(self.directory, "postgres", "postgres")
        self._as_postgres(
            f"{self.bin}/initdb", "-D", str(self.directory / "data"), "-A", "trust",
            "-U", "postgres", "--no-sync",
        )  # fmt: skip

    def start(self, *, wait: bool = True) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            f"{self.bin}/pg_ctl", "-D", str(self.directory / "data"), "-o", options,
            "-l", str(self.directory / "log"), "start", "-w" if wait else "-W",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(f"{self.bin}/pg_ctl", "-D", str(self.directory / "data"), "-m", mode,
                          "stop", "-w")  # fmt: skip


def run(session: nox.Session, project: Path) -> None:
    """Restart Redis, then PostgreSQL, under load; print the counts, then fail on what is wrong."""
    tmp = Path(session.create_tmp())
    redis = RedisServer(session, tmp)
    postgres = PostgresCluster(session, Path("/tmp") / f"neoforge-faults-{free_port()}")
    redis.start()
    postgres.create()
    postgres.start()
    problems = []
    try:
        with live_api.running(
            session,
            project,
            database_url=postgres.url,
            redis_url=redis.url,
            # Its readers and writers sign up at once, from one address.
            env={"RATE_LIMIT__API_PER_MINUTE": "1000000", "RATE_LIMIT__ACCOUNT_PER_MINUTE": "100"},
        ) as api:
            tokens = [live_api.sign_up(api.url) for _ in range(READERS + WRITERS)]
            load = Load(api.url, tokens[:READERS], tokens[READERS:])
            with load.running():
                time.sleep(3)
                session.log(f"Warm, before any fault: {load.statuses(0, time.monotonic())}")

                stopped = time.monotonic()
                redis.stop()
                time.sleep(3)
                answering = redis.start()
                time.sleep(5)
                during = load.statuses(stopped, time.monotonic())
                back = load.hit_ratio_back_after(answering)
                session.log(f"Redis killed and started again: {during}")
                session.log(f"Cache hit ratio back {back} s after Redis answered again")
                if any(status.startswith("5") for status in during):
                    problems.append(f"Redis restart answered 5xx: {during}")
                if back is None or back > RECOVERY_TARGET_SECONDS:
                    problems.append(f"hit ratio back after {back} s (> {RECOVERY_TARGET_SECONDS})")

                stopped = time.monotonic()
                postgres.stop("immediate")  # as a crash: it recovers when it starts again
                time.sleep(3)
                postgres.start(wait=False)  # clients meet it while it is still starting up
                time.sleep(8)
                during = load.statuses(stopped, time.monotonic())
                session.log(f"PostgreSQL stopped (immediate) and started again: {during}")
                if "500" in during or not set(during) <= {"200", "201", "503"}:
                    problems.append(f"PostgreSQL restart answered other than 200/201/503: {during}")
                time.sleep(2)
                after = load.statuses(time.monotonic() - 2, time.monotonic())
                if set(after) - {"200", "201"}:
                    problems.append(f"not recovered 10 s after PostgreSQL started: {after}")
    finally:
        redis.stop()
        with contextlib.suppress(Exception):
            postgres.stop("immediate")
        shutil.rmtree(postgres.directory, ignore_errors=True)
    if problems:
        session.error("; ".join(problems))
