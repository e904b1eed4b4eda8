"""Migration for 0.3.0: mvp and growth wrote production's PUBLIC_URL (https://<domain>) into .env,
so a local `make dev` mailed links to production and a local sign-up could not be confirmed. .env
is now for local runs (an unset PUBLIC_URL is the running app's own address) and production's is
set where production reads it: compose.prod.yaml (mvp), k8s/api-config.env (growth). This comments
that one line out of the founder's .env; a PUBLIC_URL of any other value is theirs and kept.
Idempotent: a commented line is not matched again.

    python migrations/local_public_url.py DOMAIN [--file .env]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

NOTE = "# 0.3.0: production's address, now set where production reads it; local runs use their own."


def comment_out(text: str, domain: str) -> str:
    """`text` with `PUBLIC_URL=https://<domain>` commented out beneath a note."""
    line = re.compile(rf"^PUBLIC_URL=https://{re.escape(domain)}/?[ \t]*$", re.M)
    return line.sub(lambda found: f"{NOTE}\n# {found.group()}", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("domain")
    parser.add_argument("--file", type=Path, default=Path(".env"))
    args = parser.parse_args(argv)
    if not args.file.is_file():
        return 0  # no .env (a fresh clone): nothing to change
    text = args.file.read_text()
    changed = comment_out(text, args.domain)
    if changed != text:
        args.file.write_text(changed)
        print(f"local_public_url: {args.file}: PUBLIC_URL=https://{args.domain} commented out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
