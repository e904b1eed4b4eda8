"""The `copier update` story the nox `update` session tells, end to end, with the plain copier CLI.

A temporary template repository gets three tagged releases: the first commit of this repository
(the oldest release in CHANGELOG.md), the last commit of the 0.2 backend layout, and the working
tree (the newest). A founder renders the old release, commits, adds their own code, then updates to
the new release and graduates dev -> mvp -> growth. After every step the project must equal a fresh
render of the same answers plus the founder's edits (nothing lost, nothing left over, no conflict)
and `.env` must be byte for byte what it was; the project's own `make test` must pass after the
update and after the last graduation. A second founder updates a 0.2 project with their own route
to the domain layout (`domain_layout_story`); a third, whose project has billing and holds
accounts, items and a subscription, answers teams=yes (`teams_story`): every item and the
subscription land in their owner's personal organisation.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import nox

from tests import upgrade_pr_flow
from tests.variant_checks import backend, infra
from tests.variant_checks.common import POSTGRES_URL, Variant, fresh_database, run_in_project
from tests.variants import REDIS_DATABASES
from tests.working_tree import copy_working_tree

ROOT = Path(__file__).parent.parent
SLUG = "nf-update"
GIT_IDENTITY = ["-c", "user.name=Founder", "-c", "user.email=founder@example.com"]
# Files that are the founder's own, never rendered: they must survive and stay untouched.
FOUNDER_NOTES = '''"""Founder's own feature: launch notes, in memory until they get a table."""

from fastapi import APIRouter, status
from pydantic import BaseModel, Field


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=280)


class Note(NoteIn):
    id: int


router = APIRouter(prefix="/founder-notes", tags=["founder-notes"])
notes: list[Note] = []


@router.post("", status_code=status.HTTP_201_CREATED)
async def add_note(note: NoteIn) -> Note:
    saved = Note(id=len(notes) + 1, text=note.text)
    notes.append(saved)
    return saved


@router.get("")
async def list_notes() -> list[Note]:
    return notes
'''
FOUNDER_TEST = """from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.founder_notes import router


def test_a_note_is_saved_and_listed() -> None:
    app = FastAPI()
    app.include_router(router)
    client = TestClient(app)
    created = client.post("/founder-notes", json={"text": "Call the first ten users"})
    assert created.status_code == 201
    assert created.json()["text"] == "Call the first ten users"
    assert created.json() in client.get("/founder-notes").json()
    assert client.post("/founder-notes", json={"text": ""}).status_code == 422
"""
FOUNDER_FILES = {
    "backend/app/founder_notes.py": FOUNDER_NOTES,
    "backend/tests/test_founder_notes.py": FOUNDER_TEST,
}
# Lines the founder inserts into generated files: (file, line after which, inserted text).
README_NOTE = "\n> Private beta: write to beta@example.com for an invite.\n"
GITIGNORE_NOTE = "# Founder: local scratch space\n/scratch/\n"
COMPONENT_NOTE = "// Founder: the pricing copy is reviewed by marketing before each release.\n"
FOUNDER_SECRET = "STRIPE_SECRET_KEY=sk_test_founder_only\n"
# The domain the founder gives when leaving dev (there is no default: a placeholder would ship).
DOMAIN = "nf-update.example.org"
# The last commit of the 0.2 backend layout (CHANGELOG's 0.2.0): where a 0.3.0 update starts from.
LAYOUT_02_COMMIT = "1d05da3"
# The second founder's own route and test, written against the 0.2 layout.
FOUNDER_LINKS = '''"""Founder's own feature: the links a signed-in user sees."""

from fastapi import APIRouter

from app.api.deps import CurrentUserDep
from app.models import Message

LINKS = "Docs: https://docs.example.org"
router = APIRouter(prefix="/founder-links", tags=["founder-links"])


@router.get("")
async def read_links(user: CurrentUserDep) -> Message:
    return Message(detail=LINKS)
'''
FOUNDER_LINKS_TEST = """import pytest
from httpx import AsyncClient

from app.api.routes.founder_links import LINKS
from app.models import Message
from tests.utils import API, signup

pytestmark = pytest.mark.anyio


async def test_a_signed_in_user_reads_the_founder_links(client: AsyncClient) -> None:
    account = await signup(client)
    response = await client.get(f"{API}/founder-links", headers=account.headers)
    assert response.status_code == 200, response.text
    assert response.json() == Message(detail=LINKS).model_dump()
    assert (await client.get(f"{API}/founder-links")).status_code == 401
"""
LINKS_FILES = {
    "backend/app/api/routes/founder_links.py": FOUNDER_LINKS,
    "backend/tests/test_founder_links.py": FOUNDER_LINKS_TEST,
}
# What the migration must make of them: the same code importing the 0.3 homes.
LINKS_FILES_03 = {
    "backend/app/api/routes/founder_links.py": FOUNDER_LINKS.replace(
        "from app.api.deps import CurrentUserDep\nfrom app.models import Message",
        "from app.accounts.deps import CurrentUserDep\nfrom app.api.schemas import Message",
    ),
    "backend/tests/test_founder_links.py": FOUNDER_LINKS_TEST.replace(
        "from app.models import Message", "from app.api.schemas import Message"
    ),
}
FOUNDER_IMPORT = "from app.api.routes import founder_links\n"
# A signed-in user reads the links of their own: the founder says so in the permissions table.
OWN_DATA = 'OWN_DATA = ("/api/v1/users/me", "/api/v1/items")\n'
FOUNDER_OWN_DATA = 'OWN_DATA = ("/api/v1/users/me", "/api/v1/items", "/api/v1/founder-links")\n'
ITEMS_DOCSTRING = '"""Items: the founder\'s to-do list, one per signed-in user."""\n'


@dataclass(frozen=True)
class Release:
    version: str
    commit: str  # what this repository's history holds for it; "" for the working tree

    @property
    def tag(self) -> str:
        return f"v{self.version}"


def releases() -> tuple[Release, Release, Release]:
    """The oldest release (this repository's first commit), the last of the 0.2 layout and the
    newest one (the working tree)."""
    versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    if len(versions) < 3 or "0.2.0" not in versions[1:-1]:
        raise ValueError("CHANGELOG.md must list 0.2.0 between the newest and the oldest release")
    root_commit = git_output(ROOT, "rev-list", "--max-parents=0", "HEAD").split()[0]
    layout_02 = git_output(ROOT, "rev-parse", LAYOUT_02_COMMIT).strip()
    return Release(versions[-1], root_commit), Release("0.2.0", layout_02), Release(versions[0], "")


def git_output(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def git(session: nox.Session, repo: Path, *args: str) -> None:
    session.run("git", "-C", str(repo), *GIT_IDENTITY, *args, external=True, silent=True)


def commit_all(session: nox.Session, repo: Path, message: str) -> None:
    git(session, repo, "add", "--all")
    git(session, repo, "commit", "--quiet", "--allow-empty", f"--message={message}")


def empty_work_tree(repo: Path) -> None:
    for path in repo.iterdir():
        if path.name != ".git":
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def build_template_history(session: nox.Session, dest: Path) -> tuple[Release, Release, Release]:
    """A git repository at `dest` whose three tags are the oldest, the 0.2.0 and the newest
    release."""
    if git_output(ROOT, "rev-parse", "--is-shallow-repository").strip() == "true":
        session.error("The update session needs the full history: git fetch --unshallow")
    old, middle, new = releases()
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    git(session, dest, "init", "--quiet", "--initial-branch=main")
    archive = dest.parent / "release.tar"
    for release in (old, middle):
        empty_work_tree(dest)
        session.run("git", "-C", str(ROOT), "archive", f"--output={archive}", release.commit,
                    external=True)  # fmt: skip
        shutil.unpack_archive(archive, dest)
        archive.unlink()
        commit_all(session, dest, f"Release {release.version} ({release.commit[:7]})")
        git(session, dest, "tag", release.tag)
    # The new release is the working tree as it is now, uncommitted work included.
    empty_work_tree(dest)
    copy_working_tree(dest)
    commit_all(session, dest, f"Release {new.version} (working tree)")
    git(session, dest, "tag", new.tag)
    return old, middle, new


def copier_copy(session: nox.Session, template: Path, tag: str, dest: Path, **answers: str) -> Path:
    """Render one release of `template` into `dest`, as a founder would."""
    if dest.exists():
        shutil.rmtree(dest)
    data = [f"--data={key}={value}" for key, value in answers.items()]
    session.run(
        "copier", "copy", "--trust", "--defaults", "--quiet", f"--vcs-ref={tag}",
        *data, str(template), str(dest),
    )  # fmt: skip
    return dest


def copier_update(session: nox.Session, project: Path, **answers: str) -> str:
    """`copier update` with the stored answers plus `answers`; returns what it printed."""
    data = [f"--data={key}={value}" for key, value in answers.items()]
    with session.chdir(project):
        return session.run("copier", "update", "--defaults", "--trust", *data, silent=True)


def rendered_files(project: Path) -> set[str]:
    """Every file in a fresh render, as paths relative to it (.env aside: it is never updated)."""
    return {
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(project).parts
    } - {".env"}


def replace_once(path: Path, old: str, new: str) -> None:
    """Replace `old`, which `path` must hold exactly once, with `new`."""
    content = path.read_text()
    assert content.count(old) == 1, f"{path} does not hold {old!r} once"
    path.write_text(content.replace(old, new))


def add_after(path: Path, anchor: str, text: str) -> None:
    """Insert `text` after the line `anchor`, which `path` must hold exactly once."""
    replace_once(path, anchor, anchor + text)


def insert_after_line(path: Path, line_number: int, text: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join([*lines[:line_number], text, *lines[line_number:]]))


def without(text: str, inserted: str) -> str:
    """`text` with the founder's inserted block taken out again (it must be there exactly once)."""
    assert text.count(inserted) == 1, f"the founder's lines are not intact: {inserted!r}"
    return text.replace(inserted, "", 1)


@dataclass
class Founder:
    """The founder's project and every edit they made, so each step can check them."""

    project: Path
    rendered: set[str]  # what the template rendered last: a file it drops must go with the update
    env_before: bytes = b""
    inserted: dict[str, str] | None = None  # generated file -> lines the founder inserted

    def edit_after_copy(self, session: nox.Session) -> None:
        """A new model + route + test, a README paragraph, a .gitignore entry, an own secret."""
        for name, content in FOUNDER_FILES.items():
            (self.project / name).write_text(content)
        # Under the title: the tier line below the description changes when the project graduates.
        insert_after_line(self.project / "README.md", 1, README_NOTE)
        insert_after_line(self.project / ".gitignore", 0, GITIGNORE_NOTE)
        self.inserted = {"README.md": README_NOTE, ".gitignore": GITIGNORE_NOTE}
        with (self.project / ".env").open("a") as env:
            env.write(FOUNDER_SECRET)
        self.env_before = (self.project / ".env").read_bytes()
        commit_all(session, self.project, "Founder: launch notes feature, README, .gitignore")

    def edit_component(self, session: nox.Session) -> None:
        """Once the frontend exists, edit one of its components too."""
        components = sorted((self.project / "frontend").glob("src/components/*.js"))
        if not components:
            session.log("No frontend component in this release: skipping the component edit")
            return
        component = components[0].relative_to(self.project).as_posix()
        insert_after_line(self.project / component, 0, COMPONENT_NOTE)
        assert self.inserted is not None
        self.inserted[component] = COMPONENT_NOTE
        commit_all(session, self.project, f"Founder: note in {component}")

    def check_after_update(self, session: nox.Session, reference: Path) -> None:
        """The project is `reference` (a fresh render of the same answers) + the founder's edits."""
        assert self.inserted is not None
        problems = []
        unmerged = git_output(self.project, "ls-files", "--unmerged")
        if unmerged:
            problems.append(f"unmerged files: {unmerged}")
        status = git_output(self.project, "status", "--porcelain", "--ignored", "--untracked=all")
        problems += [f"rejected hunk: {line[3:]}" for line in status.splitlines() if ".rej" in line]
        listed = git_output(self.project, "ls-files", "-co", "--exclude-standard").splitlines()
        # The index still lists files the update deleted until they are committed.
        project_files = {name for name in listed if (self.project / name).is_file()}
        reference_files = rendered_files(reference)
        for name in sorted(project_files):
            text = (self.project / name).read_text(errors="replace")
            if re.search(r"^(<{7}|>{7}) ", text, re.M):
                problems.append(f"conflict markers in {name}")
        for name in sorted(reference_files - project_files):
            problems.append(f"missing (the new release renders it): {name}")
        for name in sorted((project_files - reference_files) & self.rendered):
            problems.append(f"left over (the new release does not render it): {name}")
        for name, content in FOUNDER_FILES.items():
            if (self.project / name).read_text() != content:
                problems.append(f"the founder's file changed: {name}")
        for name in sorted(reference_files & project_files):
            expected = (reference / name).read_text(errors="replace")
            actual = (self.project / name).read_text(errors="replace")
            if name in self.inserted:
                actual = without(actual, self.inserted[name])
            if actual != expected and not relocked_alike(name, actual, expected):
                problems.append(f"differs from a fresh render: {name}")
        problems += env_problems(self.project, self.env_before)
        if problems:
            session.error("After copier update:\n  " + "\n  ".join(problems))
        self.rendered = reference_files
        self.env_before = (self.project / ".env").read_bytes()


def relocked_alike(name: str, actual: str, expected: str) -> bool:
    """Whether `name` is a uv.lock holding a fresh lock's pins. An update re-locks only what
    changed, so its header's resolution markers may stay as they were: the pins are the promise."""
    return name.endswith("uv.lock") and locked_pins(actual) == locked_pins(expected)


def locked_pins(lock_text: str) -> set[tuple[str, str | None]]:
    """Every package a uv.lock pins, with its version."""
    return {(p["name"], p.get("version")) for p in tomllib.loads(lock_text).get("package", [])}


def env_problems(project: Path, before: bytes) -> list[str]:
    """.env keeps every line it had (secrets untouched) and holds every variable of .env.example."""
    env = (project / ".env").read_bytes()
    if not env.startswith(before):
        return [".env lost or changed a line it had (its values must survive every update)"]
    missing = infra.set_in(project / ".env.example") - infra.set_in(project / ".env")
    return [f".env lacks {name} (in .env.example)" for name in sorted(missing)]


def change_summary(session: nox.Session, project: Path, title: str) -> str:
    """Files added, changed and deleted by the update that is not committed yet."""
    git(session, project, "add", "--all")
    name_status = git_output(project, "diff", "--cached", "--name-status").splitlines()
    groups: dict[str, list[str]] = {"added": [], "changed": [], "deleted": []}
    kinds = {"A": "added", "M": "changed", "D": "deleted"}
    for line in name_status:
        kind, _, name = line.partition("\t")
        groups[kinds.get(kind[0], "changed")].append(name)
    lines = [f"{title}: " + ", ".join(f"{len(names)} {kind}" for kind, names in groups.items())]
    for kind, names in groups.items():
        lines += [f"  {kind:8} {name}" for name in names]
    return "\n".join(lines)


def run_project_tests(session: nox.Session, variant: Variant, services: bool = True) -> None:
    """The project's own `make test`, on PostgreSQL and Redis as its CI runs it, or (`services`
    false) on the SQLite default and the in-process cache, as `make test` runs for a founder who
    set nothing. The project came with its lock files, so a test run writes nothing: anything it
    leaves is a stale lock or a file the generated .gitignore misses (and would block the next
    update)."""
    if services:
        with infra.private_redis(session) as redis_url:
            backend.test_on_services(session, replace(variant, redis_url=redis_url))
    else:
        run_in_project(session, variant, "make", "test")
    written = git_output(variant.project, "status", "--porcelain", "--untracked=all").splitlines()
    if written:
        session.error(f"make test changed or left files: {[line[3:] for line in written]}")


@contextlib.contextmanager
def data_hand_over(session: nox.Session, project: Path) -> Iterator[None]:
    """mvp -> growth as docs/upgrading.md tells it: before the update, the mvp project's
    scripts/backup.sh backs the droplet's database up; after it, the growth project's
    scripts/restore.sh restores that backup into the empty managed database; the rows are equal."""
    fresh_database(session, "nf_handover_droplet")
    fresh_database(session, "nf_handover_managed")
    # libpq URLs, as the backup scripts take them.
    droplet, managed = f"{POSTGRES_URL}/nf_handover_droplet", f"{POSTGRES_URL}/nf_handover_managed"
    session.run("psql", droplet, "-qc", infra.SEED_ROWS, external=True)
    metrics = Path(session.create_tmp()).resolve() / "handover-metrics"
    metrics.mkdir(exist_ok=True)
    with infra.local_s3(session) as s3:
        env = {**s3, "BACKUP_PREFIX": SLUG, "BACKUP_METRICS_DIR": str(metrics)}
        with session.chdir(project):
            session.run("bash", "scripts/backup.sh", env={**env, "BACKUP_DATABASE_URL": droplet},
                        external=True)  # fmt: skip
        yield
        with session.chdir(project):
            session.run("bash", "scripts/restore.sh", "latest",
                        env={**env, "RESTORE_DATABASE_URL": managed}, external=True)  # fmt: skip
    before, after = (
        infra.psql_value(session, url, infra.ROWS_DIGEST) for url in (droplet, managed)
    )
    if before != after:
        session.error(f"the managed database differs from the droplet's: {before!r} != {after!r}")
    session.log(f"mvp -> growth data hand-over: rows equal ({after})")


def readme_command(readme: Path, heading: str) -> str:
    """The first line of the first ```sh block after `heading`: what the README tells a person to
    run, exactly as written."""
    text = readme.read_text()
    if heading not in text:
        raise ValueError(f"{readme} has no {heading!r}")
    block = re.search(r"```sh\n(.*?)```", text[text.index(heading) :], re.DOTALL)
    if block is None:
        raise ValueError(f"{readme} has no sh block after {heading!r}")
    return block.group(1).splitlines()[0]


def at_the_prompt(
    session: nox.Session, cwd: Path, *command: str, keys: str = "", as_a_founder: bool = False
) -> str:
    """Run `command` in a terminal as a person would, pressing Enter at every question (or the
    `keys` given as "HELP TEXT=KEYS"); return what the screen showed. `as_a_founder`: without the
    session's virtualenv on PATH, so its copier cannot stand in for what the README must install."""
    options = [f"--cwd={cwd}", *([f"--keys={keys}"] if keys else [])]
    options += ["--outside-virtualenv"] if as_a_founder else []
    return session.run(
        "python", str(ROOT / "tests" / "prompts.py"), *options, "--", *command, silent=True
    )


def follow_the_readmes(session: nox.Session, workdir: Path, template: Path, new: Release) -> None:
    """The root README's copy command, run as written in the template's folder with the questions
    answered at the prompt, makes a project that the generated README's update command (as
    written) brings to a later release."""
    copy_line = readme_command(template / "README.md", "Make a project")
    project = workdir / "my-app"  # where the README's line puts it
    shutil.rmtree(project, ignore_errors=True)  # from an earlier run of this session
    session.log(f"In the template's folder: {copy_line}")
    at_the_prompt(session, template, "bash", "-c", copy_line, as_a_founder=True)
    recorded = re.search(r"^_src_path: (.*)$", (project / ".copier-answers.yml").read_text(), re.M)
    src_path = recorded.group(1).strip("'\"") if recorded else None
    if src_path != str(template):
        session.error(f"the project records _src_path {src_path!r}: an update could not find it")
    git(session, project, "init", "--quiet", "--initial-branch=main")
    commit_all(session, project, "Initial commit")

    patch = Release(f"{new.version}.post1", "")
    note = "\nPatch release: this line arrived with `copier update`.\n"
    with (template / "template" / "README.md.jinja").open("a") as readme:
        readme.write(note)
    commit_all(session, template, f"Release {patch.version}")
    git(session, template, "tag", patch.tag)

    update_line = readme_command(project / "README.md", "## Upgrading")
    session.log(f"In the project: {update_line}")
    at_the_prompt(session, project, "bash", "-c", update_line, as_a_founder=True)
    if note.strip() not in (project / "README.md").read_text():
        session.error(f"`{update_line}` did not bring {patch.tag} into the project")
    if git_output(project, "ls-files", "--unmerged"):
        session.error(f"`{update_line}` left conflicts")
    session.log(
        change_summary(session, project, f"{new.tag} -> {patch.tag} with the README's line")
    )


def domain_layout_story(
    session: nox.Session, workdir: Path, template: Path, middle: Release, new: Release
) -> None:
    """A 0.2 project with the founder's own route (registered in api/main.py, listed in
    core/permissions.py) and an edit to api/routes/items.py updates to the domain layout: the
    route and its test import the 0.3 homes, the three edits wait in .rej files next to the files'
    new homes, the rest is a fresh render; once the founder does what CHANGELOG.md says by hand,
    `make test` serves their route."""
    slug, answers = "nf-layout", {"project_name": "nf-layout", "tier": "dev"}
    project = copier_copy(session, template, middle.tag, workdir / slug, **answers)
    git(session, project, "init", "--quiet", "--initial-branch=main")
    commit_all(session, project, f"Initial commit from NeoForge {middle.version}")
    for name, content in LINKS_FILES.items():
        (project / name).write_text(content)
    api_main = project / "backend/app/api/main.py"
    registered = "api_router.include_router(founder_links.router)\n"
    add_after(api_main, "api_router.include_router(admin.router)\n", registered)
    replace_once(api_main, "auth, items", "auth, founder_links, items")
    replace_once(project / "backend/app/core/permissions.py", OWN_DATA, FOUNDER_OWN_DATA)
    items = project / "backend/app/api/routes/items.py"
    items.write_text(ITEMS_DOCSTRING + items.read_text().split("\n", 1)[1])
    commit_all(session, project, "Founder: links route, items docstring, links are own data")

    printed = copier_update(session, project)
    reference = copier_copy(session, template, new.tag, workdir / "reference", **answers)
    problems = []
    for name, content in LINKS_FILES_03.items():
        if (project / name).read_text() != content:
            problems.append(
                f"{name} does not import the 0.3 homes:\n{(project / name).read_text()}"
            )
    rejected = {
        "backend/app/routes.py.rej": "+" + registered,
        "backend/app/items/routes.py.rej": "+" + ITEMS_DOCSTRING,
        "backend/app/admin/permissions.py.rej": "+" + FOUNDER_OWN_DATA,
    }
    for name, founder_line in rejected.items():
        rej = project / name
        if not rej.is_file() or founder_line not in rej.read_text():
            problems.append(f"{name} does not hold the founder's {founder_line.strip()!r}")
        if name not in printed:
            problems.append(f"the update did not say where {name} is")
    listed = git_output(project, "ls-files", "-co", "--exclude-standard").splitlines()
    project_files = {name for name in listed if (project / name).is_file()}
    project_files -= {*LINKS_FILES, *rejected}
    reference_files = rendered_files(reference)
    problems += [f"missing: {name}" for name in sorted(reference_files - project_files)]
    problems += [f"left over: {name}" for name in sorted(project_files - reference_files)]
    problems += [
        f"differs from a fresh render: {name}"
        for name in sorted(reference_files & project_files)
        if (project / name).read_bytes() != (reference / name).read_bytes()
        and not relocked_alike(name, (project / name).read_text(), (reference / name).read_text())
    ]
    if problems:
        session.error("After copier update to the domain layout:\n  " + "\n  ".join(problems))
    session.log(f"{middle.tag} -> {new.tag}: the founder's route imports the 0.3 homes; "
                f"their edits wait in {', '.join(rejected)}")  # fmt: skip

    # What CHANGELOG.md 0.3.0 tells the founder to do by hand.
    routes = project / "backend/app/routes.py"
    add_after(routes, "from app.admin import routes as admin_routes\n", FOUNDER_IMPORT)
    add_after(routes, "    admin_routes.router,\n", "    founder_links.router,\n")
    items = project / "backend/app/items/routes.py"
    items.write_text(ITEMS_DOCSTRING + items.read_text().split("\n", 1)[1])
    add_after(
        project / "backend/app/admin/permissions.py",
        '    "/api/v1/items",\n',
        '    "/api/v1/founder-links",\n',
    )
    # A signed-in router declares the API rate limit (0.3 took it out of authentication).
    links = project / "backend/app/api/routes/founder_links.py"
    replace_once(links, "import CurrentUserDep\n", "import ApiRateLimit, CurrentUserDep\n")
    replace_once(links, '"founder-links"])', '"founder-links"], dependencies=[ApiRateLimit])')
    for name in rejected:
        (project / name).unlink()
    commit_all(session, project, f"Update NeoForge to {new.version}, founder's edits moved")
    variant = Variant("dev", True, project, slug, REDIS_DATABASES["update"])
    run_project_tests(session, variant, services=False)


# A project's data before it answers teams=yes: accounts, items that must each land in their
# owner's personal organisation (migration 0010), and the first account's subscription, which
# must follow it there (0014: with teams, organisations pay).
TEAMS_SEED = (
    "INSERT INTO users (id, email, hashed_password, is_active, role, email_verified,"
    " session_version, created_at)"
    " SELECT md5(n::text)::uuid, 'user' || n || '@example.com', 'x', true, 'member', true, 0, now()"
    " FROM generate_series(1, 20) AS n;"
    "INSERT INTO items (id, title, owner_id, created_at, updated_at)"
    " SELECT md5('item' || n)::uuid, 'Item ' || n, md5((n % 20 + 1)::text)::uuid, now(), now()"
    " FROM generate_series(1, 200) AS n;"
    "INSERT INTO subscriptions (account_id, stripe_customer_id, plan, status, cancel_at_period_end,"
    " updated_at) VALUES (md5('1')::uuid, 'cus_1', 'pro', 'active', false, now());"
)
ITEMS_DIGEST = (
    "SELECT count(*) || ' items, '"
    " || md5(string_agg(id || title || owner_id, ',' ORDER BY id)) FROM items"
)
# Items in their owner's personal organisation, and organisations with exactly one owner.
IN_PERSONAL_ORGS = (
    "SELECT count(*) FROM items JOIN organisations"
    " ON organisations.id = items.org_id AND organisations.personal_of = items.owner_id"
)
OWNED_ORGS = "SELECT count(*) FROM memberships WHERE role = 'owner'"
PAID_BY_PERSONAL_ORG = (
    "SELECT count(*) FROM subscriptions JOIN organisations ON organisations.id ="
    " subscriptions.account_id AND organisations.personal_of = md5('1')::uuid"
)


def teams_story(session: nox.Session, workdir: Path, template: Path, new: Release) -> None:
    """A project of the newest release with billing, accounts and items answers teams=yes later:
    the update merges cleanly, its migrations move every item and the subscription into their
    owner's personal organisation (nothing lost, nothing else changed), and the project's tests
    pass."""
    slug = "nf-update-teams"
    project = copier_copy(
        session, template, new.tag, workdir / slug, project_name=slug, billing="stripe"
    )
    git(session, project, "init", "--quiet", "--initial-branch=main")
    commit_all(session, project, "Initial commit, without teams")
    variant = Variant("dev", True, project, slug, REDIS_DATABASES["update"])
    fresh_database(session, "nf_update_teams")
    database = f"{POSTGRES_URL}/nf_update_teams"  # a plain URL, as a host gives it
    run_in_project(session, variant, "make", "migrate", DATABASE_URL=database)
    session.run("psql", database, "-qc", TEAMS_SEED, external=True)
    before = infra.psql_value(session, database, ITEMS_DIGEST)

    copier_update(session, project, teams="true")
    status = git_output(project, "status", "--porcelain", "--untracked=all")
    rejected = [line[3:] for line in status.splitlines() if line.endswith(".rej")]
    if rejected or "<<<<<<<" in git_output(project, "diff"):
        session.error(f"teams=yes did not merge cleanly: {rejected or 'conflict markers'}")
    if not (project / "backend/app/orgs/routes.py").is_file():
        session.error("the update to teams=yes rendered no orgs domain")
    session.log(change_summary(session, project, "teams=no -> teams=yes"))
    commit_all(session, project, "Answer teams=yes")

    run_in_project(session, variant, "make", "migrate", DATABASE_URL=database)
    after = infra.psql_value(session, database, ITEMS_DIGEST)
    moved = infra.psql_value(session, database, IN_PERSONAL_ORGS)
    owners = infra.psql_value(session, database, OWNED_ORGS)
    paid = infra.psql_value(session, database, PAID_BY_PERSONAL_ORG)
    if (after, moved, owners, paid) != (before, "200", "20", "1"):
        session.error(
            f"teams=yes lost or misplaced data: {before!r} -> {after!r}, {moved} of 200 items in "
            f"their owner's personal organisation, {owners} owners for 20 accounts, {paid} of 1 "
            "subscription paid by its user's personal organisation"
        )
    session.log(
        f"teams=yes moved {moved} items and 1 subscription into 20 personal organisations ({after})"
    )
    run_project_tests(session, variant, services=False)


def run(session: nox.Session, workdir: Path) -> None:
    """The whole story: old release -> founder edits -> update -> dev -> mvp -> growth, then a
    new founder follows the READMEs' own commands."""
    workdir = workdir.resolve()  # the answers file records the template's path; cwd changes
    template = workdir / "template"
    old, middle, new = build_template_history(session, template)
    domain_layout_story(session, workdir, template, middle, new)
    answers = {"project_name": SLUG, "tier": "dev"}
    project = copier_copy(session, template, old.tag, workdir / SLUG, **answers)
    git(session, project, "init", "--quiet", "--initial-branch=main")
    commit_all(session, project, f"Initial commit from NeoForge {old.version}")
    founder = Founder(project, rendered=rendered_files(project))
    founder.edit_after_copy(session)
    variant = Variant("dev", True, project, SLUG, REDIS_DATABASES["update"])

    session.log(f"Updating {old.tag} -> {new.tag} over the founder's edits")
    copier_update(session, project)
    founder.check_after_update(
        session, copier_copy(session, template, new.tag, workdir / "reference", **answers)
    )
    session.log(change_summary(session, project, f"{old.tag} -> {new.tag}"))
    commit_all(session, project, f"Update NeoForge to {new.version}")
    # The dev project as most founders have it: the embedded default, no services at all.
    run_project_tests(session, variant, services=False)
    founder.edit_component(session)

    for previous, tier in (("dev", "mvp"), ("mvp", "growth")):
        answers.update(tier=tier, domain=DOMAIN)
        moving_data = data_hand_over if tier == "growth" else lambda *_: contextlib.nullcontext()
        with moving_data(session, project):
            printed = copier_update(session, project, tier=tier, domain=DOMAIN)
        if tier == "growth" and "Moving from the droplet to Kubernetes" not in printed:
            session.error(f"mvp -> growth did not say how to move the data:\n{printed[-3000:]}")
        if "empty value(s) in .env" in printed:
            session.log(printed[printed.index("Fill in") :].strip())
        founder.check_after_update(
            session, copier_copy(session, template, new.tag, workdir / "reference", **answers)
        )
        session.log(change_summary(session, project, f"Graduation {previous} -> {tier}"))
        commit_all(session, project, f"Graduate to the {tier} tier")
    # Once more at the end, where every update and graduation has met the founder's edits (the
    # variant sessions test fresh mvp and growth projects; tests/test_update_refusals.py the
    # refused downgrades, with --data and at the prompt).
    run_project_tests(session, replace(variant, tier="growth"))
    follow_the_readmes(session, workdir, template, new)
    teams_story(session, workdir, template, new)
    upgrade_pr_flow.run(session, template, project, kept={**FOUNDER_FILES, **founder.inserted})
