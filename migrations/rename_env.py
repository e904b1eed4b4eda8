"""Migration helper: rename a variable in the founder's .env, keeping its value and other lines.

`copier update` never merges .env (it holds the founder's secrets and is in `_skip_if_exists`), so a
release that renames an environment variable runs this from a version-gated `_migrations` entry.
Idempotent: when the new name is already there, or the old one is not, the file is left as it is.

    python migrations/rename_env.py OLD_NAME NEW_NAME [--file .env]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def assignment(name: str) -> re.Pattern[str]:
    """A line that sets `name`, with or without `export`, keeping what precedes the name."""
    return re.compile(rf"^(\s*(?:export\s+)?){re.escape(name)}(?=\s*=)", re.M)


def rename_env(text: str, old: str, new: str) -> str:
    """`text` with `old=...` renamed to `new=...`; unchanged if `new` is already set."""
    for name in (old, new):
        if not NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not an environment variable name")
    if assignment(new).search(text):
        return text
    return assignment(old).sub(rf"\g<1>{new}", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--file", type=Path, default=Path(".env"))
    args = parser.parse_args(argv)
    if not args.file.is_file():
        return 0  # no .env (a fresh clone): nothing to carry over
    try:
        renamed = rename_env(args.file.read_text(), args.old, args.new)
    except ValueError as error:
        print(f"rename_env: {error}", file=sys.stderr)
        return 2
    if renamed != args.file.read_text():
        args.file.write_text(renamed)
        print(f"rename_env: {args.file}: {args.old} -> {args.new}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
