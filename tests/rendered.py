"""What a render wrote, and the template syntax that must never be left in it: shared by the
template's tests (tests/test_render.py) and the all-combinations check (all_combinations.py)."""

from __future__ import annotations

import re
from pathlib import Path

# Directories a generated project may grow locally that are not template output.
NOT_RENDERED = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache"}
# Unrendered Jinja of this template: our own variables or block tags. GitHub `${{ }}`
# expressions and Go templates in Prometheus/Alertmanager/Grafana files are legitimate output.
LEFTOVER_JINJA = re.compile(
    r"\{\{-?\s*(project_|tier|profile|prices|domain|frontend|python_version|sign_in_with|author_"
    r"|description|monthly_estimate|_copier)"
    r"|\{%-?\s*(if|elif|else|endif|for|endfor|set|raw|endraw|include|macro)\b"
)


def app_template(relative: Path) -> bool:
    """Whether `relative` is one of the app's own Jinja templates, rendered when an email is sent:
    a domain's (app/accounts/email_templates/) or the layout (app/mail/templates/)."""
    parts = relative.parts
    return parts[:2] == ("backend", "app") and (
        "email_templates" in parts or parts[2:4] == ("mail", "templates")
    )


def rendered_files(project: Path) -> list[Path]:
    """Every file the template wrote into `project`."""
    return sorted(
        path
        for path in project.rglob("*")
        if path.is_file() and not NOT_RENDERED.intersection(path.relative_to(project).parts)
    )


# The rendered text a question's words could show in (docs only where the caller says so).
CODE_SUFFIXES = frozenset({".py", ".js", ".toml", ".example", ".yaml", ".yml", ".html"})


def mentions(project: Path, words: re.Pattern[str], suffixes: frozenset[str]) -> list[str]:
    """ "<file> mentions '<word>'" for each rendered file with one of `suffixes` (never the answers
    file) whose lower-cased text matches `words`: what a project without that answer must lack."""
    found = []
    for path in rendered_files(project):
        if path.suffix in suffixes and path.name != ".copier-answers.yml":
            match = words.search(path.read_text(errors="ignore").lower())
            if match:
                found.append(f"{path.relative_to(project)} mentions {match.group(0)!r}")
    return found


def leftover_template_syntax(project: Path, path: Path) -> str | None:
    """What is left unrendered in `path` (its name or its text), described; None when clean."""
    relative = path.relative_to(project)
    if ".jinja" in path.name:
        return "kept its .jinja suffix"
    if "{{" in str(relative) or "{%" in str(relative):
        return "unrendered file name"
    if app_template(relative):
        return None
    match = LEFTOVER_JINJA.search(path.read_bytes().decode("utf-8", errors="ignore"))
    return f"unrendered template syntax {match.group(0)!r}" if match else None
