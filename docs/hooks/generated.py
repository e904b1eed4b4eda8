"""mkdocs hook: the pages' reference sections, generated from the files they describe.

A page asks for a section with a marker on its own line, e.g. `<!-- generated: questions -->`:
`questions` (from copier.yml), `tiers` (from extensions/tiers.toml, priced by `monthly_estimate`),
`files-by-tier` (from real renders of the template), `two-commands` (from the top-level README).
Nothing here is typed twice, so the site cannot drift from the template.
"""

from __future__ import annotations

import re
import sys
import tempfile
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "extensions"))

from context import load_tiers, monthly_estimate, tier_refusal  # noqa: E402  (not a package)

MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.M)
# A validator's messages: the text between its Jinja statements ({{ expressions }} included).
VALIDATOR_MESSAGE = re.compile(r"%\}((?:[^{]|\{\{[^}]*\}\})*?)\{%")
# Validators that call an extension's function: one example of what they say.
REFUSAL_EXAMPLES = {"tier": tier_refusal("dev", {"tier": "mvp"})}


def questions() -> dict[str, dict[str, Any]]:
    """copier.yml's questions in the order they are asked (keys starting with _ are settings)."""
    config = yaml.safe_load((ROOT / "copier.yml").read_text())
    return {name: spec for name, spec in config.items() if not name.startswith("_")}


def code(value: object) -> str:
    text = value if isinstance(value, str) else yaml.safe_dump(value).strip().removesuffix("...")
    return f"`{str(text).strip()}`"


def questions_markdown() -> str:
    lines = []
    for name, spec in questions().items():
        lines += [f"### `{name}`", "", spec.get("help", ""), ""]
        lines.append(f"- **type:** `{spec.get('type', 'str')}`")
        if "default" in spec:
            lines.append(f"- **default:** {code(spec['default'])}")
        if "choices" in spec:
            choices = spec["choices"]
            values = choices.values() if isinstance(choices, dict) else choices
            # A choice may be {value, validator}: the validator disables it at the prompt.
            values = [value["value"] if isinstance(value, dict) else value for value in values]
            lines.append("- **choices:** " + ", ".join(code(value) for value in values))
        if "when" in spec:
            lines.append(f"- **asked only when:** {code(spec['when'])}")
        messages = VALIDATOR_MESSAGE.findall(spec.get("validator", ""))
        messages += [REFUSAL_EXAMPLES[name]] if name in REFUSAL_EXAMPLES else []
        lines += [
            f"- **refused with:** {message.strip()}" for message in messages if message.strip()
        ]
        lines.append("")
    return "\n".join(lines)


def tiers_markdown() -> str:
    data = load_tiers()
    tiers = sorted(data["tiers"].items(), key=lambda item: item[1]["order"])
    names = [name for name, _ in tiers]
    rows = [
        ("where it runs", lambda p: p["runs_on"]),
        ("API processes", lambda p: p["api_workers"]),
        ("requests in flight per process, then 503", lambda p: p["api_max_in_flight"]),
        (
            "cache TTL high/medium/low (s)",
            lambda p: "/".join(map(str, p["cache_ttl_seconds"].values())),
        ),
        ("Redis maxmemory", lambda p: f"{p['redis']['maxmemory_mb']} MB, {p['redis']['policy']}"),
        (
            "DB pool per process",
            lambda p: f"{p['db_pool']['size']} + {p['db_pool']['max_overflow']}",
        ),
        ("login attempts / minute", lambda p: p["rate_limit"]["login_per_minute"]),
        ("monitoring", lambda p: p["monitoring"]),
        ("backups", lambda p: p["backups"]),
        ("deploy", lambda p: p["deploy"]),
    ]
    lines = [
        "| | " + " | ".join(f"`{name}`" for name in names) + " |",
        "|---" * (len(names) + 1) + "|",
        "| **monthly estimate** | "
        + " | ".join(f"**${monthly_estimate(name)}**" for name in names)
        + " |",
    ]
    lines += [
        f"| {label} | " + " | ".join(str(value(profile)) for _, profile in tiers) + " |"
        for label, value in rows
    ]
    for name, profile in tiers:
        lines += ["", f"### `{name}`: about ${monthly_estimate(name)}/month", ""]
        costs = profile["costs"]
        if not costs:
            lines.append("Nothing is hosted: nothing to pay.")
            continue
        lines += ["| item | size | USD/month |", "|---|---|---:|"]
        lines += [f"| {line['item']} | {line['size']} | {line['usd']} |" for line in costs.values()]
        lines.append(f"| **total** | | **{monthly_estimate(name)}** |")
    prices = data["prices"]
    lines += [
        "",
        f"List prices as of {prices['as_of']} ({prices['currency']}), from {prices['source']}.",
    ]
    return "\n".join(lines)


@cache
def rendered_files(tier: str) -> frozenset[str]:
    """The files one render of the working tree writes for `tier` (frontend included)."""
    import copier  # only this section needs a render

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        # Rendering the working tree with its uncommitted changes is the point here.
        warnings.simplefilter("ignore", copier.errors.DirtyLocalWarning)
        copier.run_copy(
            # `domain` has no default (mvp and growth ask it); dev skips the question.
            str(ROOT), tmp, data={"tier": tier, "domain": "app.example.com"}, defaults=True,
            unsafe=True, vcs_ref="HEAD", quiet=True,
        )  # fmt: skip
        return frozenset(
            path.relative_to(tmp).as_posix() for path in Path(tmp).rglob("*") if path.is_file()
        )


def files_by_tier_markdown() -> str:
    names = [name for name, _ in sorted(load_tiers()["tiers"].items(), key=lambda i: i[1]["order"])]
    files = {name: rendered_files(name) for name in names}
    lines = ["| file | " + " | ".join(f"`{name}`" for name in names) + " |"]
    lines.append("|---" + "|:-:" * len(names) + "|")
    for path in sorted(set().union(*files.values())):
        marks = " | ".join("✓" if path in files[name] else "" for name in names)
        lines.append(f"| `{path}` | {marks} |")
    return "\n".join(lines)


def two_commands_markdown() -> str:
    """The top-level README's "The two commands" section, without its heading."""
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## The two commands\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    if section is None:
        raise ValueError("README.md has no '## The two commands' section")
    return section.group(1).strip()


SECTIONS = {
    "questions": questions_markdown,
    "tiers": tiers_markdown,
    "files-by-tier": files_by_tier_markdown,
    "two-commands": two_commands_markdown,
}


def on_page_markdown(markdown: str, **_: object) -> str:
    def expand(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in SECTIONS:
            raise ValueError(f"Unknown generated section {name!r}; known: {sorted(SECTIONS)}")
        return SECTIONS[name]()

    return MARKER.sub(expand, markdown)
