"""Migration for 0.3.0: carry a founder's work from the 0.2 backend layout to the domain layout.

`copier update` across 0.3.0 deletes every 0.2 file that moved, the founder's edits with it, and
leaves the founder's own modules importing paths that are gone. copier.yml runs this twice:

    python migrations/domain_layout.py before .copier-answers.yml   # in the project, before
    python migrations/domain_layout.py after .copier-answers.yml    # in the project, after

`before` renders the project's recorded release with its answers (tasks skipped), diffs every
generated file against it and keeps the founder's changes under .git/. `after` rewrites the 0.2
imports in the founder's own backend Python files and writes each change to a file the update
removed as a `.rej` next to its new home, printing one line per file. `after` without a `before`
does nothing, so a second run changes nothing.
"""

from __future__ import annotations

import difflib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

STATE = "neoforge-domain-layout.json"  # under the project's git directory, never committed

# 0.2 module -> 0.3 module (an exact module, or a package prefix of its modules).
MODULES = {
    "app.core.cache.routes": "app.cache.declarations",
    "app.core.cache": "app.cache",
    "app.jobs.cache": "app.cache.replay",
    "app.core.middleware": "app.http.middleware",
    "app.core.security_headers": "app.http.security_headers",
    "app.core.overload": "app.http.overload",
    "app.core.logs": "app.observability.logs",
    "app.core.metrics": "app.observability.metrics",
    "app.core.observability": "app.observability.tracing",
    "app.api.routes.health": "app.observability.health",
    "app.core.mail": "app.mail",
    "app.core.rate_limit": "app.rate_limit",
    "app.core.audit": "app.audit",
    "app.core.permissions": "app.admin.permissions",
    "app.core.oauth": "app.accounts.providers",
    "app.api.routes.oauth": "app.accounts.provider_routes",
    "app.api.routes.auth": "app.accounts.auth_routes",
    "app.api.routes.users": "app.accounts.me_routes",
    "app.api.routes.admin": "app.admin.routes",
    "app.api.routes.items": "app.items.routes",
    "app.api.main": "app.routes",
    "app.jobs.accounts": "app.accounts.jobs",
    "app.jobs.example": "app.accounts.jobs",
}
# `from PACKAGE import MODULE` -> (new package, new module name); the old name stays as an alias.
FROM_PACKAGE = {
    ("app.core", "cache"): ("app", "cache"),
    ("app.core", "metrics"): ("app.observability", "metrics"),
    ("app.core", "audit"): ("app", "audit"),
    ("app.core", "mail"): ("app", "mail"),
    ("app.core", "overload"): ("app.http", "overload"),
    ("app.core", "middleware"): ("app.http", "middleware"),
    ("app.core", "security_headers"): ("app.http", "security_headers"),
    ("app.core", "logs"): ("app.observability", "logs"),
    ("app.core", "observability"): ("app.observability", "tracing"),
    ("app.core", "rate_limit"): ("app", "rate_limit"),
    ("app.core", "permissions"): ("app.admin", "permissions"),
    ("app.core", "oauth"): ("app.accounts", "providers"),
    ("app.api", "main"): ("app", "routes"),
    ("app.api.routes", "health"): ("app.observability", "health"),
    ("app.api.routes", "auth"): ("app.accounts", "auth_routes"),
    ("app.api.routes", "users"): ("app.accounts", "me_routes"),
    ("app.api.routes", "oauth"): ("app.accounts", "provider_routes"),
    ("app.api.routes", "admin"): ("app.admin", "routes"),
    ("app.api.routes", "items"): ("app.items", "routes"),
    ("app.jobs", "accounts"): ("app.accounts", "jobs"),
    ("app.jobs", "cache"): ("app.cache", "replay"),
    ("app.jobs", "example"): ("app.accounts", "jobs"),
    ("app", "crud"): ("app.accounts", "crud"),
}
# Modules whose names went to several homes: (name -> new module, the default for other names).
SPLIT = {
    "app.models": (
        dict.fromkeys(["MAX_PAGE_SIZE", "MAX_OFFSET", "STORABLE_TEXT", "TITLE_TEXT", "Message"],
                      "app.api.schemas")
        | dict.fromkeys(["utcnow", "UTCDateTime"], "app.core.db")
        | dict.fromkeys(["AuditEvent", "AuditEventPublic", "AuditEventsPublic"], "app.audit.models")
        | dict.fromkeys(["Item", "ItemBase", "ItemCreate", "ItemUpdate", "ItemPublic",
                         "ItemsPublic"], "app.items.models"),
        "app.accounts.models",
    ),
    "app.api.deps": (
        dict.fromkeys(["CurrentUser", "CurrentUserDep", "get_current_user", "TokenDep"],
                      "app.accounts.deps"),
        "app.api.deps",
    ),
}  # fmt: skip
# 0.2 file (under backend/) -> where its content lives in 0.3: where a founder's change goes.
NEW_HOME = {
    "app/api/main.py": "app/routes.py",
    "app/api/routes/auth.py": "app/accounts/auth_routes.py",
    "app/api/routes/users.py": "app/accounts/me_routes.py",
    "app/api/routes/oauth.py": "app/accounts/provider_routes.py",
    "app/api/routes/admin.py": "app/admin/routes.py",
    "app/api/routes/items.py": "app/items/routes.py",
    "app/api/routes/health.py": "app/observability/health.py",
    "app/core/oauth.py": "app/accounts/providers.py",
    "app/core/permissions.py": "app/admin/permissions.py",
    "app/core/audit.py": "app/audit/__init__.py",
    "app/core/mail.py": "app/mail/__init__.py",
    "app/core/rate_limit.py": "app/rate_limit.py",
    "app/core/middleware.py": "app/http/middleware.py",
    "app/core/security_headers.py": "app/http/security_headers.py",
    "app/core/overload.py": "app/http/overload.py",
    "app/core/logs.py": "app/observability/logs.py",
    "app/core/metrics.py": "app/observability/metrics.py",
    "app/core/observability.py": "app/observability/tracing.py",
    "app/core/cache/routes.py": "app/cache/declarations.py",
    "app/jobs/cache.py": "app/cache/replay.py",
    "app/jobs/accounts.py": "app/accounts/jobs.py",
    "app/jobs/example.py": "app/accounts/jobs.py",
    "app/models.py": "app/accounts/models.py",
    "app/crud.py": "app/accounts/crud.py",
    "app/email_templates/_layout.html": "app/mail/templates/_layout.html",
    "tests/api/routes/test_accounts.py": "tests/accounts/test_accounts.py",
    "tests/api/routes/test_auth.py": "tests/accounts/test_auth.py",
    "tests/api/routes/test_users.py": "tests/accounts/test_me.py",
    "tests/api/routes/test_oauth.py": "tests/accounts/test_providers.py",
    "tests/api/routes/test_admin.py": "tests/admin/test_admin.py",
    "tests/api/test_permissions.py": "tests/admin/test_permissions.py",
    "tests/api/routes/test_items.py": "tests/items/test_items.py",
    "tests/api/routes/test_cache.py": "tests/cache/test_cached_routes.py",
    "tests/api/test_cache_declarations.py": "tests/cache/test_declarations.py",
    "tests/core/test_cache.py": "tests/cache/test_cache.py",
    "tests/core/test_tracking.py": "tests/cache/test_tracking.py",
    "tests/api/routes/test_health.py": "tests/observability/test_health.py",
    "tests/api/routes/test_metrics.py": "tests/observability/test_metrics.py",
    "tests/core/test_observability.py": "tests/observability/test_observability.py",
    "tests/api/test_openapi.py": "tests/test_openapi.py",
    "tests/core/test_rate_limit.py": "tests/test_rate_limit.py",
    "tests/core/test_github.py": "tests/accounts/test_github.py",
    "tests/core/test_id_tokens.py": "tests/accounts/test_id_tokens.py",
}
NEW_HOME |= {  # the package prefixes: every file below them moved as one
    f"app/core/cache/{name}.py": f"app/cache/{name}.py"
    for name in ("__init__", "aside", "breaker", "redis_store", "store", "tracking")
} | {
    f"app/email_templates/{name}.{kind}": f"app/accounts/email_templates/{name}.{kind}"
    for name in ("account_exists", "change_email", "email_change_notice", "reset_password",
                 "verify_email")
    for kind in ("html", "txt")
}  # fmt: skip


def _split_import(match: re.Match[str]) -> str:
    indent, module, names = match.group(1), match.group(2), match.group(3)
    homes, default = SPLIT[module]
    groups: dict[str, list[str]] = {}
    for name in filter(None, (n.strip() for n in re.sub(r"[()\s]+", " ", names).split(","))):
        groups.setdefault(homes.get(name.split(" as ")[0], default), []).append(name)
    return "\n".join(
        f"{indent}from {home} import {', '.join(groups[home])}" for home in sorted(groups)
    )


def rewrite_imports(text: str) -> str:
    """`text` (Python source) with every 0.2 module path replaced by its 0.3 home."""
    for module in SPLIT:
        pattern = rf"^([ \t]*)from ({re.escape(module)}) import (\([^)]*\)|[^\n]*)"
        text = re.sub(pattern, _split_import, text, flags=re.M)
    for (package, name), (new_package, new_name) in FROM_PACKAGE.items():

        def one_name(match: re.Match[str], package=package, name=name, new=(new_package, new_name)):
            indent, names = match.group(1), [n.strip() for n in match.group(2).split(",")]
            if name not in names:
                return match.group(0)
            alias = f" as {name}" if new[1] != name else ""
            moved = f"{indent}from {new[0]} import {new[1]}{alias}"
            rest = [n for n in names if n != name]
            return f"{indent}from {package} import {', '.join(rest)}\n{moved}" if rest else moved

        pattern = rf"^([ \t]*)from {re.escape(package)} import ([\w, ]+)$"
        text = re.sub(pattern, one_name, text, flags=re.M)
    # The longest first: app.core.cache.routes before app.core.cache.
    for old in sorted(MODULES, key=len, reverse=True):
        text = re.sub(rf"(?<![\w.]){re.escape(old)}(?!\w)", MODULES[old], text)
    return text


def git_dir() -> Path:
    return Path(
        subprocess.run(["git", "rev-parse", "--absolute-git-dir"], check=True,
                       capture_output=True, text=True).stdout.strip()
    )  # fmt: skip


def project_files() -> list[str]:
    """The project's files as git sees them (tracked and new, not ignored), relative to here."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return sorted({name for name in listed.split("\0") if name and Path(name).is_file()})


def render_recorded_release(answers_file: Path, dest: Path) -> None:
    """The release `answers_file` records, with its answers, as `copier update` diffs against."""
    import copier  # the Python copier runs this with (`_copier_python`)
    import yaml

    answers = yaml.safe_load(answers_file.read_text())
    copier.run_copy(
        answers["_src_path"], dest, vcs_ref=answers["_commit"], defaults=True, unsafe=True,
        skip_tasks=True, quiet=True, answers_file=answers_file.name,
        data={key: value for key, value in answers.items() if not key.startswith("_")},
    )  # fmt: skip


def before(answers_file: Path) -> dict[str, object]:
    """The founder's change to every generated file, and the founder's own backend modules."""
    with tempfile.TemporaryDirectory(prefix="neoforge-old-release.") as tmp:
        old = Path(tmp) / "project"
        render_recorded_release(answers_file, old)
        generated = {p.relative_to(old).as_posix() for p in old.rglob("*") if p.is_file()}
        changes: dict[str, str] = {}
        for name in sorted(generated & set(project_files())):
            try:
                was, now = (old / name).read_text(), Path(name).read_text()
            except UnicodeDecodeError:
                continue  # a binary file: no diff to hand back
            if was != now:
                diff = difflib.unified_diff(
                    was.splitlines(keepends=True), now.splitlines(keepends=True),
                    f"a/{name}", f"b/{name}",
                )  # fmt: skip
                changes[name] = "".join(diff)
    own = [
        name
        for name in project_files()
        if name.startswith("backend/") and name.endswith(".py") and name not in generated
    ]
    return {"changes": changes, "own_python": own}


def after(saved: dict[str, object]) -> list[str]:
    """Rewrite the founder's imports, hand back the changes to removed files; what to tell them."""
    told = []
    for name in saved["own_python"]:  # type: ignore[union-attr]
        path = Path(name)
        if path.is_file() and (text := path.read_text()) != (new := rewrite_imports(text)):
            path.write_text(new)
            told.append(f"{name}: imports rewritten to the 0.3 layout; run `make format`")
    for name, diff in saved["changes"].items():  # type: ignore[union-attr]
        if Path(name).exists():
            continue  # still rendered: copier merged the change in place
        backend, _, inner = name.partition("/")
        home = f"backend/{NEW_HOME[inner]}" if backend == "backend" and inner in NEW_HOME else name
        Path(f"{home}.rej").parent.mkdir(parents=True, exist_ok=True)
        Path(f"{home}.rej").write_text(diff)
        where = f"moved to {home}" if home != name else "is gone in 0.3.0"
        told.append(
            f"{name} {where}: your change to it is in {home}.rej;"
            " make it by hand (CHANGELOG.md 0.3.0), then delete the .rej"
        )
    return told


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("before", "after"):
        print("usage: domain_layout.py before|after ANSWERS_FILE", file=sys.stderr)
        return 2
    stage, answers_file = argv[0], Path(argv[1])
    state = git_dir() / STATE
    if stage == "before":
        if not answers_file.is_file():
            print(f"domain_layout: no {answers_file} here: run copier update in the project",
                  file=sys.stderr)  # fmt: skip
            return 2
        state.write_text(json.dumps(before(answers_file), indent=1))
        return 0
    if not state.is_file():
        return 0  # nothing kept: not an update across 0.3.0, or already done
    for line in after(json.loads(state.read_text())):
        print(f"domain_layout: {line}")
    state.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
