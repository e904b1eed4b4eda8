"""Answer copier's questions at a real prompt, as a founder types them: a pseudo-terminal (pexpect)
runs the command; at each question it waits until the prompt is drawn, keeps what the screen showed
and presses keys (Enter, which takes the default, unless told otherwise).

    python tests/prompts.py [--keys "HELP TEXT=KEYS"]... -- COMMAND...

prints what every prompt showed and exits with the command's status (the nox `update` session runs
it this way, in its own virtualenv; the template's tests import `answer_prompts`).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

PROMPT = "\N{MICROPHONE}"  # copier starts every question with it
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")
UP, DOWN, ENTER = "\x1b[A", "\x1b[B", "\r"


@dataclass
class Transcript:
    status: int
    screens: list[str] = field(default_factory=list)  # what each question showed, ANSI removed
    output: str = ""  # everything, ANSI removed

    def screen(self, help_text: str) -> str:
        """The screen of the question whose help starts with `help_text`."""
        found = [screen for screen in self.screens if help_text in screen]
        assert found, f"no question {help_text!r} was asked:\n{self.output[-3000:]}"
        return found[0]


def plain(text: str) -> str:
    return ANSI.sub("", text)


def outside_this_virtualenv() -> dict[str, str]:
    """The environment less this Python's virtualenv: a shell on a machine that has only what the
    README asks for (uv), not the test session's copier."""
    env = {name: value for name, value in os.environ.items() if name != "VIRTUAL_ENV"}
    here = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != here)
    return env


def answer_prompts(
    command: list[str],
    cwd: Path,
    keys: dict[str, str] | None = None,
    timeout: float = 180,
    env: dict[str, str] | None = None,
    columns: int = 250,
) -> Transcript:
    """Run `command` in a terminal `columns` wide; at a question whose help contains a key of
    `keys`, type its value; at any other question press Enter."""
    import pexpect  # only where the prompts are driven (not in nox's own environment)

    keys = keys or {}
    child = pexpect.spawn(
        command[0], command[1:], cwd=str(cwd), env=env, encoding="utf-8", dimensions=(50, columns)
    )
    deadline = time.monotonic() + timeout
    transcript, since_answer, everything, answered = Transcript(status=-1), "", "", None
    while time.monotonic() < deadline:
        try:
            chunk = child.read_nonblocking(size=65536, timeout=0.5)
        except pexpect.EOF:
            break
        except pexpect.TIMEOUT:
            # Quiet: the question on screen, if a new one, is drawn completely. Answer it.
            question = current_question(plain(since_answer))
            if question and question != answered:
                transcript.screens.append(plain(since_answer))
                child.send(next((v for k, v in keys.items() if k in question), ENTER))
                answered, since_answer = question, ""
            continue
        since_answer += chunk
        everything += chunk
        if "\x1b[6n" in chunk:  # the prompt asks where the cursor is: a terminal answers
            child.send("\x1b[1;1R")
    else:
        child.terminate(force=True)
        raise TimeoutError(f"{command} still running after {timeout} s:\n{plain(everything)}")
    child.close()
    transcript.status = child.exitstatus if child.exitstatus is not None else -1
    transcript.output = plain(everything)
    return transcript


def current_question(screen: str) -> str | None:
    """The help line of the last question drawn on `screen`."""
    if PROMPT not in screen:
        return None
    return screen.rsplit(PROMPT, 1)[1].strip().splitlines()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", action="append", default=[], metavar="HELP=KEYS")
    parser.add_argument("--cwd", type=Path, default=Path.cwd())
    parser.add_argument(
        "--outside-virtualenv", action="store_true", help="run without this virtualenv on PATH"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    keys = dict(item.split("=", 1) for item in args.keys)
    env = outside_this_virtualenv() if args.outside_virtualenv else None
    transcript = answer_prompts(command, args.cwd, keys, env=env)
    print(transcript.output)
    return transcript.status


if __name__ == "__main__":
    sys.exit(main())
