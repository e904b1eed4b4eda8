"""Copier extension: a refused answer ends with its message, not a Python traceback.

Copier prints a one-line message for its own user errors, but an answer refused while it reads
`--data` or `--defaults` (a validator's message, a question without a default) leaves as a
ValueError with a traceback around it. Loading this extension (copier.yml) installs an excepthook
that prints just the message for those; the exit code stays 1 and nothing has been written yet.
"""

from __future__ import annotations

import re
import sys
import traceback
from types import TracebackType

from jinja2 import Environment
from jinja2.ext import Extension

REQUIRED = re.compile(r'^Question "(?P<name>\w+)" is required$')


def raised_by_copier(trace: TracebackType | None) -> bool:
    """Whether the innermost frame is copier's own code (its answers handling)."""
    frames = traceback.extract_tb(trace)
    return bool(frames) and "/copier/" in frames[-1].filename.replace("\\", "/")


def refusal_message(error: BaseException) -> str:
    """What the founder reads: the refusal, with how to give the missing answer."""
    if required := REQUIRED.match(str(error)):
        name = required["name"]
        return (
            f"The {name!r} question has no default, so --defaults needs it: add "
            f"--data {name}=<value> (or leave out --defaults to be asked)."
        )
    return str(error)


def print_refusal(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    if issubclass(kind, ValueError) and raised_by_copier(trace):
        print(refusal_message(error), file=sys.stderr)
        return
    sys.__excepthook__(kind, error, trace)


class ClearErrors(Extension):
    """Installs `print_refusal` when copier loads the template's Jinja extensions."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        sys.excepthook = print_refusal
