"""A day's traffic in miniature: signed-in people list their items (Zipf over people and pages),
open one, create and edit some, and sign in again now and then, with think time in between.

    make loadtest-seed                      # once: the seeded accounts this file signs in as
    make loadtest HOST=http://127.0.0.1:8000 USERS=500 DURATION=60s

Prints requests/s, p50/p95/p99, errors and the cache hit ratio of the run (from the API's
/metrics, or `--metrics-url`: production serves it on METRICS_PORT only). `--summary-json PATH`
also writes them as JSON.
"""

import itertools
import json
import random
import threading
import urllib.request
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, events, task
from locust.env import Environment
from prometheus_client.parser import text_string_to_metric_families

from loadtest import accounts

API = "/api/v1"
_rng = random.Random(20261121)  # noqa: S311  (which account and page to use, not secrets)
_signed_in = itertools.count()
_lock = threading.Lock()
_cache_before: dict[str, float] = {}
_state: dict[str, Environment] = {}


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument(
        "--seeded-users", type=int, default=accounts.DEFAULT_USERS, help="accounts seeded"
    )
    parser.add_argument("--summary-json", default="", help="also write the summary here")
    parser.add_argument("--metrics-url", default="", help="the API's metrics (HOST/metrics)")


class Person(FastHttpUser):
    wait_time = between(0.5, 1.5)  # about a second of reading between clicks

    def on_start(self) -> None:
        seeded = self.environment.parsed_options.seeded_users
        with _lock:
            self.index = _active_users(seeded)[next(_signed_in) % seeded]
        self.email = accounts.email(self.index)
        self.count = 0  # items the account holds, from the last list
        self.seen: list[str] = []  # ids on the last page listed
        self.auth: dict[str, str] | None = None
        self.sign_in()

    def sign_in(self) -> None:
        form = {"username": self.email, "password": accounts.PASSWORD}
        with self.client.post(f"{API}/auth/login", data=form, catch_response=True) as answer:
            if answer.status_code != 200:  # a 503 (logins shed) is tried again on the next turn
                answer.failure(f"login {answer.status_code}")
                return
            token = answer.json()["access_token"]
        self.auth = {"Authorization": f"Bearer {token}"}

    def signed_in(self) -> bool:
        """Whether this turn can use the API: a person whose sign-in failed spends it retrying."""
        if self.auth is None:
            self.sign_in()
            return False
        return True

    @task(60)
    def list_items(self) -> None:
        if not self.signed_in():
            return
        pages = max(1, -(-self.count // accounts.PAGE_SIZE))
        offset = accounts.zipf_choice(pages, _rng) * accounts.PAGE_SIZE
        answer = self.client.get(
            f"{API}/items?offset={offset}&limit={accounts.PAGE_SIZE}",
            headers=self.auth,
            name=f"{API}/items",
        )
        if answer.status_code == 200:
            body = answer.json()
            self.count = body["count"]
            self.seen = [item["id"] for item in body["data"]] or self.seen

    @task(30)
    def read_item(self) -> None:
        if self.signed_in() and self.seen:
            item_id = accounts.zipf_choice(len(self.seen), _rng)
            self.client.get(
                f"{API}/items/{self.seen[item_id]}", headers=self.auth, name=f"{API}/items/{{id}}"
            )

    @task(3)
    def create_item(self) -> None:
        if not self.signed_in():
            return
        self.client.post(
            f"{API}/items",
            json={"title": "Written under load", "description": "A new item."},
            headers=self.auth,
        )

    @task(3)
    def update_item(self) -> None:
        if self.signed_in() and self.seen:
            self.client.patch(
                f"{API}/items/{_rng.choice(self.seen)}",
                json={"title": "Edited under load"},
                headers=self.auth,
                name=f"{API}/items/{{id}}",
            )

    @task(1)
    def sign_in_again(self) -> None:
        self.sign_in()


_ACTIVE: dict[int, list[int]] = {}


def _active_users(seeded: int) -> list[int]:
    if seeded not in _ACTIVE:
        _ACTIVE[seeded] = accounts.active_users(seeded, random.Random(seeded))  # noqa: S311
    return _ACTIVE[seeded]


def cache_counts(environment: Environment) -> dict[str, float]:
    """Cache hits and misses so far, summed over resources and workers, from /metrics."""
    options = environment.parsed_options
    url = (options and options.metrics_url) or f"{environment.host}/metrics"
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310
        text = answer.read().decode()
    counts = {"hits": 0.0, "misses": 0.0}
    for family in text_string_to_metric_families(text):
        name = {"cache_hits": "hits", "cache_misses": "misses"}.get(family.name)
        if name:
            counts[name] += sum(s.value for s in family.samples if s.name.endswith("_total"))
    return counts


@events.init.add_listener
def _remember(environment: Environment, **_: Any) -> None:
    _state["environment"] = environment


@events.spawning_complete.add_listener
def _steady_state(**_: Any) -> None:
    # Counted from here: the ramp-up (every person signing in, cold cache) is not the steady state.
    _cache_before.update(cache_counts(_state["environment"]))


@events.quitting.add_listener
def _summary(environment: Environment, **_: Any) -> None:
    total = environment.stats.total
    after = cache_counts(environment)
    hits = after["hits"] - _cache_before.get("hits", 0)
    misses = after["misses"] - _cache_before.get("misses", 0)
    summary = {
        "requests": total.num_requests,
        "requests_per_second": round(total.total_rps, 1),
        "p50_ms": total.get_response_time_percentile(0.50),
        "p95_ms": total.get_response_time_percentile(0.95),
        "p99_ms": total.get_response_time_percentile(0.99),
        "errors": total.num_failures,
        "error_kinds": {
            f"{e.method} {e.name}: {e.error}": e.occurrences
            for e in environment.stats.errors.values()
        },
        "cache_hit_ratio": round(hits / (hits + misses), 3) if hits + misses else None,
    }
    print("Load test summary:", json.dumps(summary, indent=2))
    if environment.parsed_options and environment.parsed_options.summary_json:
        Path(environment.parsed_options.summary_json).write_text(json.dumps(summary, indent=2))
