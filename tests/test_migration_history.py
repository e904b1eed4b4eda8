"""A part added later (sign-in with providers, teams, billing) only adds migrations: every revision
a project has applied renders byte for byte the same after it answers yes to another part. Alembic
never re-runs a revision it has recorded, so a changed one would leave its new tables unmade."""

from __future__ import annotations

import itertools

import pytest

VERSIONS = "backend/alembic/versions"
# Each optional part with a migration of its own: its answer when off and when on.
PARTS = {
    "sign_in_with": ([], ["github"]),
    "teams": (False, True),
    "billing": ("none", "stripe"),
}
ANSWER_SETS = list(itertools.product((False, True), repeat=len(PARTS)))


def answers(chosen: tuple[bool, ...]) -> dict[str, object]:
    values = {name: PARTS[name][on] for name, on in zip(PARTS, chosen, strict=True)}
    return {"tier": "dev", "frontend": False, **values}


def label(chosen: tuple[bool, ...]) -> str:
    return "+".join(name for name, on in zip(PARTS, chosen, strict=True) if on) or "none"


@pytest.mark.parametrize(
    ("before", "added"),
    [(chosen, part) for chosen in ANSWER_SETS for part in range(len(PARTS)) if not chosen[part]],
    ids=lambda value: label(value) if isinstance(value, tuple) else list(PARTS)[value],
)
def test_adding_a_part_keeps_every_applied_migration(rendered_once, before, added) -> None:
    after = tuple(on or index == added for index, on in enumerate(before))
    old = rendered_once(**answers(before)) / VERSIONS
    new = rendered_once(**answers(after)) / VERSIONS
    changed = [
        path.name
        for path in sorted(old.glob("*.py"))
        if not (new / path.name).is_file() or (new / path.name).read_text() != path.read_text()
    ]
    assert changed == [], f"{label(before)} -> {label(after)} rewrites {changed}"
