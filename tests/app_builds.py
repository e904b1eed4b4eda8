"""Does each rendered backend's app import and `create_app()` build with its own settings?

    python tests/app_builds.py BACKEND_DIR...   # prints {backend_dir: "ok" or the error} as JSON

Run by the all-combinations check under the Python a combination asked for, in an environment
holding the backends' dependencies. A first child reports which libraries an app imports; this
process imports them once, then forks one child per backend, so each `app` package is imported
fresh in a process of its own without paying for its libraries again.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable


def build(backend: str) -> None:
    """In the child: import the app from `backend` with its .env, then build a second one."""
    os.chdir(backend)
    sys.path.insert(0, backend)
    from app.main import create_app  # builds the module-level app too

    create_app()


def libraries_imported() -> str:
    """The top-level modules loaded now, other than the app's own (for warm_up)."""
    names = {name.partition(".")[0] for name in sys.modules}
    return json.dumps(sorted(names - {"app", "__main__"}))


def in_child(work: Callable[[], str]) -> str:
    """`work()` in a forked child; what it returned, or the error that stopped it."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read)
        # What an app prints while it starts must not mix into the JSON on stdout.
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        try:
            outcome = work()
        except BaseException as error:
            last = traceback.extract_tb(error.__traceback__)[-1]
            outcome = f"{type(error).__name__}: {error} ({last.filename}:{last.lineno})"[:600]
        with os.fdopen(write, "w") as pipe:
            pipe.write(outcome)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        outcome = pipe.read()
    os.waitpid(child, 0)
    return outcome or "the child died without a report"


def check(backend: str) -> str:
    def work() -> str:
        build(backend)
        return "ok"

    return in_child(work)


def warm_up(backend: str) -> None:
    """Import what `backend`'s app imports (learnt in a child), so later children start warm."""

    def work() -> str:
        build(backend)
        return libraries_imported()

    outcome = in_child(work)
    if outcome.startswith("["):
        for name in json.loads(outcome):
            try:
                __import__(name)
            except Exception:
                continue


if __name__ == "__main__":
    backends = sys.argv[1:]
    if backends:
        warm_up(backends[0])
    print(json.dumps({backend: check(backend) for backend in backends}))
