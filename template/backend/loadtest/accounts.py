"""What the seeder and the locust users agree on: the accounts, their password, the Zipf laws.

No app imports here: locust (gevent) loads this module, and it needs nothing of the API.
"""

import itertools
import random
from collections.abc import Sequence

EMAIL_DOMAIN = "loadtest.example.com"
# One password for every seeded account: hashed once, so seeding takes seconds, not minutes.
PASSWORD = "Loadtest-password-1"  # noqa: S105  (a throwaway account, never in production data)
DEFAULT_USERS = 2_000
DEFAULT_ITEMS = 20_000
PAGE_SIZE = 20
# Zipf exponent: a few accounts hold many items (and are the most active); most hold a handful.
ZIPF_EXPONENT = 1.1


def email(index: int) -> str:
    return f"user-{index:06d}@{EMAIL_DOMAIN}"


def zipf_weights(count: int, exponent: float = ZIPF_EXPONENT) -> list[float]:
    return [1 / (rank + 1) ** exponent for rank in range(count)]


def items_per_user(users: int, items: int) -> list[int]:
    """`items` shared out Zipf-wise over `users` (the first has the most), each at least one when
    there are enough items; the counts add up to `items` exactly."""
    floor = 1 if items >= users else 0
    spare = items - floor * users
    weights = zipf_weights(users)
    total = sum(weights)
    shares = [spare * weight / total for weight in weights]
    counts = [floor + int(share) for share in shares]
    # Largest remainders first, so the rounding adds up.
    by_remainder = sorted(range(users), key=lambda i: int(shares[i]) - shares[i])
    for index in by_remainder[: items - sum(counts)]:
        counts[index] += 1
    return counts


def active_users(users: int, rng: random.Random) -> list[int]:
    """Account indexes in the order simulated people sign in: a Zipf-weighted draw without
    replacement (heavy accounts come early), so no two people share an account and its limits."""
    weights = zipf_weights(users)
    keys = [rng.random() ** (1 / weight) for weight in weights]  # Efraimidis-Spirakis
    return sorted(range(users), key=keys.__getitem__, reverse=True)


def zipf_choice(count: int, rng: random.Random) -> int:
    """0..count-1, 0 the most likely (the first page of a list is read far more than the last)."""
    return rng.choices(range(count), cum_weights=_cumulative(count))[0]


_CUMULATIVE: dict[int, Sequence[float]] = {}


def _cumulative(count: int) -> Sequence[float]:
    if count not in _CUMULATIVE:
        _CUMULATIVE[count] = list(itertools.accumulate(zipf_weights(count)))
    return _CUMULATIVE[count]
