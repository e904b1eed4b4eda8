"""docs/add-a-resource.md as a test follows it: word for word, on a rendered project.

Its fenced blocks are the steps. ```<lang> file=<path>``` writes a new file with the block's text;
```<lang> file=<path> after=<line>``` inserts the block's text after the one line of that file
whose text, stripped, is <line>; a ```sh``` block is commands to run in the project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

GUIDE = Path("docs") / "add-a-resource.md"
BLOCK = re.compile(r"^```(\w+)((?: [^\n]*)?)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
FILE = re.compile(r"file=(\S+)(?: after=(.+))?$")


@dataclass(frozen=True)
class Step:
    lang: str
    path: str | None  # None: a shell block
    after: str | None
    text: str


def steps(project: Path) -> list[Step]:
    """The rendered guide's steps, in order; a fenced block that is neither kind is refused."""
    found = []
    for lang, info, text in BLOCK.findall((project / GUIDE).read_text()):
        target = FILE.search(info.strip())
        if target:
            found.append(Step(lang, target[1], target[2], text))
        elif lang == "sh":
            found.append(Step(lang, None, None, text))
        else:
            raise ValueError(
                f"a ```{lang}{info}``` block of the guide is no step a test can follow"
            )
    return found


def apply(project: Path, step: Step) -> None:
    """Write or insert one file step, refusing what the guide could not mean."""
    assert step.path is not None
    target = project / step.path
    if step.after is None:
        if target.exists():
            raise AssertionError(f"{step.path} exists already: the guide would overwrite it")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(step.text)
        return
    lines = target.read_text().splitlines(keepends=True)
    found = [number for number, line in enumerate(lines) if line.strip() == step.after]
    if len(found) != 1:
        raise AssertionError(f"{step.path} has the line {step.after!r} {len(found)} times")
    lines.insert(found[0] + 1, step.text)
    target.write_text("".join(lines))
