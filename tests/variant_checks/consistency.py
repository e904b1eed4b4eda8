"""A write answered by one API worker is never followed by a stale read from another, across real
worker processes: each worker answers cache hits from its own copies of Redis's entries
(app/cache/tracking.py), kept right by Redis's invalidation notices.

Each client reads its list a few times on fresh connections (the kernel spreads them over the
workers, and each worker copies the cached page), creates an item, and reads again at once: the
count must include the item every time. The copies must have answered reads, or the check
exercised nothing.
"""

from __future__ import annotations

import json
import re
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import nox

from tests.variant_checks import live_api

CLIENTS, ROUNDS, WARM_READS = 4, 40, 3
LIST = "/api/v1/items?offset=0&limit=20"


def run(session: nox.Session, api: live_api.LiveApi) -> None:
    tokens = [live_api.sign_up(api.url) for _ in range(CLIENTS)]
    hits_before = copy_hits(api)
    with ThreadPoolExecutor(CLIENTS) as pool:
        stale = sum(pool.map(lambda token: stale_reads(api.url, token), tokens))
    hits = copy_hits(api) - hits_before
    session.log(
        f"Writes then reads across workers: {CLIENTS * ROUNDS} writes, {stale} stale reads; "
        f"{hits:.0f} cache keys read from the workers' copies"
    )
    if stale:
        session.error(f"{stale} reads after a write missed it (stale copies)")
    if hits < CLIENTS * ROUNDS * WARM_READS:
        session.error(f"Only {hits:.0f} keys read from the copies: the check exercised nothing")


def stale_reads(api_url: str, token: str) -> int:
    """Rounds whose read right after the write did not count the new item."""
    auth = {"Authorization": f"Bearer {token}"}
    stale = 0
    for written in range(1, ROUNDS + 1):
        for _ in range(WARM_READS):
            count(api_url, auth)
        item = json.dumps({"title": f"round {written}"}).encode()
        live_api.request(
            f"{api_url}/api/v1/items", item, {**auth, "Content-Type": "application/json"}
        )
        stale += count(api_url, auth) != written
    return stale


def count(api_url: str, auth: dict[str, str]) -> int:
    return json.loads(live_api.request(f"{api_url}{LIST}", headers=auth))["count"]


def copy_hits(api: live_api.LiveApi) -> float:
    """cache_copy_reads_total{outcome="hit"}, summed over the workers."""
    with urllib.request.urlopen(api.metrics_url, timeout=10) as answer:
        text = answer.read().decode()
    found = re.search(r'^cache_copy_reads_total\{outcome="hit"\} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0
