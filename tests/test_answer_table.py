"""The answer table behind the combinations session and the variant table: read from copier.yml,
and the variants the suite tests in full cover every pair of answers."""

from __future__ import annotations

import json
import math
import shlex

import pytest
import yaml
from conftest import ROOT, VARIANTS, variant_answers

from tests.answer_table import (
    QUESTIONS,
    as_data_flags,
    combination_id,
    covering,
    every_combination,
    uncovered_pairs,
)


def test_the_table_is_every_question_with_choices_or_a_yes_no() -> None:
    copier = yaml.safe_load((ROOT / "copier.yml").read_text())
    expected = [
        name
        for name, spec in copier.items()
        if not name.startswith("_") and ("choices" in spec or spec.get("type") == "bool")
    ]
    assert [question.name for question in QUESTIONS] == expected
    sizes = {question.name: len(question.values) for question in QUESTIONS}
    # A multiselect answer is any subset of its choices.
    assert sizes["sign_in_with"] == 2 ** len(copier["sign_in_with"]["choices"])
    assert len(every_combination()) == math.prod(sizes.values())
    assert every_combination()[0] == {q.name: copier[q.name]["default"] for q in QUESTIONS}


def test_the_variants_cover_every_pair_of_answers() -> None:
    chosen = [variant_answers(variant) for variant in VARIANTS]
    missing = uncovered_pairs(chosen)
    suggestion = "\n".join(combination_id(answers) for answers in covering(chosen))
    assert not missing, (
        f"no variant has these answers together: {sorted(missing)[:5]}...; a covering set that "
        f"keeps the current variants first:\n{suggestion}"
    )


def test_the_variants_include_what_the_issue_asked_for() -> None:
    chosen = [variant_answers(variant) for variant in VARIANTS]
    assert any(a["tier"] == "mvp" and len(a.get("sign_in_with", [])) == 1 for a in chosen)
    assert any(a["tier"] == "growth" and a.get("sign_in_with") for a in chosen)
    assert {a["python_version"] for a in chosen} == set(QUESTIONS[2].values)


def test_a_covering_set_from_nothing_covers_every_pair() -> None:
    found = covering([])
    assert uncovered_pairs(found) == set()
    # Nine is the least possible (three tiers times three Python versions, as the variant table
    # shows); the greedy search, which is not exact, needs one more since the teams question.
    assert len(found) <= len(VARIANTS) + 1


@pytest.mark.parametrize("answers", every_combination()[::37], ids=combination_id)
def test_a_failure_is_named_as_flags_copier_accepts(answers) -> None:
    words = shlex.split(as_data_flags(answers))
    assert words[::2] == ["--data"] * len(answers)
    parsed = dict(word.split("=", 1) for word in words[1::2])
    assert {
        name: json.loads(value) if value[:1] in "[tf" else value for name, value in parsed.items()
    } == answers
