"""The answers that change what the template renders, read from copier.yml (never a second list):
every combination of them, a pairwise covering set, and how to name one.

A question changes the output when it has choices or is a yes/no; free-text answers (names,
domain, region) only fill in strings and take one fixed value here. A multiselect answer is every
subset of its choices; for pairwise covering each choice is its own yes/no ("has github").
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.variants import variant_id

COPIER_FILE = Path(__file__).resolve().parents[1] / "copier.yml"

Answers = dict[str, object]


@dataclass(frozen=True)
class Question:
    name: str
    values: tuple  # every answer it takes, the default first
    choices: tuple  # for a multiselect, its choices; else the same as values
    multiselect: bool = False

    def factors(self, value: object) -> dict[str, object]:
        """`value` as the yes/no factors pairwise covering sees: one per choice of a multiselect."""
        if not self.multiselect:
            return {self.name: value}
        return {f"{self.name}:{choice}": choice in value for choice in self.choices}


def _choice_values(choices: Mapping | Sequence) -> list:
    values = choices.values() if isinstance(choices, Mapping) else choices
    # A choice with its own validator is written {value: ..., validator: ...}.
    return [value["value"] if isinstance(value, Mapping) else value for value in values]


def questions(copier_file: Path = COPIER_FILE) -> list[Question]:
    """The questions of `copier_file` whose answers change the output, in the order asked."""
    found = []
    for name, spec in yaml.safe_load(copier_file.read_text()).items():
        if name.startswith("_") or not isinstance(spec, Mapping):
            continue
        if spec.get("type") == "bool":
            default = bool(spec.get("default", False))
            found.append(Question(name, (default, not default), (default, not default)))
        elif "choices" in spec:
            choices = tuple(_choice_values(spec["choices"]))
            if spec.get("multiselect"):
                subsets = (
                    list(subset)
                    for size in range(len(choices) + 1)
                    for subset in itertools.combinations(choices, size)
                )
                found.append(Question(name, tuple(subsets), choices, multiselect=True))
            else:
                default = spec.get("default", choices[0])
                ordered = (default, *(choice for choice in choices if choice != default))
                found.append(Question(name, ordered, ordered))
    return found


QUESTIONS = questions()
DEFAULTS: Answers = {question.name: question.values[0] for question in QUESTIONS}


def every_combination(table: Sequence[Question] = QUESTIONS) -> list[Answers]:
    """The full cross product of `table`'s answers, the all-defaults one first."""
    names = [question.name for question in table]
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(question.values for question in table))
    ]


def _factors(answers: Mapping, table: Sequence[Question]) -> dict[str, object]:
    return {
        key: value
        for question in table
        for key, value in question.factors(answers[question.name]).items()
    }


def _pairs(answers: Mapping, table: Sequence[Question]) -> set[tuple]:
    factors = sorted(_factors(answers, table).items(), key=lambda item: item[0])
    return set(itertools.combinations(factors, 2))


def covering(seeds: Iterable[Mapping], table: Sequence[Question] = QUESTIONS) -> list[Answers]:
    """`seeds`, then greedily the combination that covers the most pairs of factor values not yet
    seen together, until every pair is covered (ties go to the earlier combination, so the set is
    the same on every run). Seeding with the favourite variants keeps the set small: they count."""
    candidates = every_combination(table)
    uncovered = set().union(*(_pairs(answers, table) for answers in candidates))
    chosen = []
    for seed in seeds:
        answers = {**DEFAULTS, **seed}
        chosen.append(answers)
        uncovered -= _pairs(answers, table)
    while uncovered:
        best = max(candidates, key=lambda answers: len(_pairs(answers, table) & uncovered))
        chosen.append(best)
        uncovered -= _pairs(best, table)
    return chosen


def uncovered_pairs(chosen: Iterable[Mapping], table: Sequence[Question] = QUESTIONS) -> set:
    """The pairs of factor values that no combination of `chosen` has together."""
    every = set().union(*(_pairs(answers, table) for answers in every_combination(table)))
    return every - set().union(*(_pairs({**DEFAULTS, **a}, table) for a in chosen))


def combination_id(answers: Mapping) -> str:
    """A readable name, as the variants are named: "growth, api-only, py3.13, google+oidc"."""
    return variant_id({**DEFAULTS, **answers})


def as_data_flags(answers: Mapping) -> str:
    """The combination as copier CLI flags, to paste after `copier copy`."""
    flags = []
    for name, value in answers.items():
        text = json.dumps(value) if isinstance(value, list) else str(value).lower()
        flags.append(
            f"--data '{name}={text}'" if isinstance(value, list) else f"--data {name}={text}"
        )
    return " ".join(flags)
