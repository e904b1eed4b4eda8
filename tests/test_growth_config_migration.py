"""migrations/growth_config_files.py (0.3.0): `copier update` deletes growth's k8s/configmap.yaml
and renders k8s/api-config.env, backup-config.env and pgbouncer.ini with the template's values;
the migration carries the founder's values from the last commit into them (issue 29 item 18)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from migrations.growth_config_files import main, migrate

OLD_CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: api-config
data:
  LOG_LEVEL: INFO
  SMTP_HOST: smtp.acme.io
  SMTP_PORT: "465"
  OTEL_EXPORTER_OTLP_ENDPOINT: http://tempo.monitoring.svc:4318
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: backup-config
data:
  BACKUP_RETENTION_DAYS: "45"
"""
OLD_PGBOUNCER = """apiVersion: v1
kind: ConfigMap
metadata:
  name: pgbouncer-config
data:
  pgbouncer.ini: |
    [databases]
    app = host=db-acme.db.ondigitalocean.com port=25060 dbname=app
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: pgbouncer
"""
NEW_FILES = ("api-config.env", "backup-config.env", "pgbouncer.ini")


def git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "-C", str(repo), *identity, *args], check=True, capture_output=True)


def updated_growth_project(render) -> Path:
    """A growth project as `copier update` leaves it: the last commit has the old manifests, the
    work tree the new files with the template's values."""
    project = render(tier="growth")
    new_files = {name: (project / "k8s" / name).read_text() for name in NEW_FILES}
    (project / "k8s" / "configmap.yaml").write_text(OLD_CONFIGMAP)
    (project / "k8s" / "pgbouncer.yaml").write_text(OLD_PGBOUNCER)
    git(project, "init", "--quiet")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--message=Before the update")
    (project / "k8s" / "configmap.yaml").unlink()
    for name, text in new_files.items():
        (project / "k8s" / name).write_text(text)
    return project


def test_the_founders_values_reach_the_new_files(render) -> None:
    project = updated_growth_project(render)
    template_api = (project / "k8s" / "api-config.env").read_text()
    moved = migrate(project)
    assert len(moved) == 3, moved
    api = (project / "k8s" / "api-config.env").read_text()
    assert "SMTP_HOST=smtp.acme.io\n" in api and "SMTP_PORT=465\n" in api
    assert api.endswith("OTEL_EXPORTER_OTLP_ENDPOINT=http://tempo.monitoring.svc:4318\n")
    # What the old file did not set keeps the template's line, comments included.
    for line in template_api.splitlines():
        if not line.startswith(("SMTP_HOST=", "SMTP_PORT=")):
            assert line in api.splitlines(), line
    assert "BACKUP_RETENTION_DAYS=45\n" in (project / "k8s" / "backup-config.env").read_text()
    ini = (project / "k8s" / "pgbouncer.ini").read_text()
    assert ini.startswith("; PgBouncer")  # the new file's comments stay
    assert "app = host=db-acme.db.ondigitalocean.com port=25060 dbname=app\n" in ini
    assert "pool_mode" not in ini  # the founder's file, whole, not merged with the template's


def test_running_it_again_changes_nothing(render) -> None:
    project = updated_growth_project(render)
    migrate(project)
    once = {name: (project / "k8s" / name).read_text() for name in NEW_FILES}
    migrate(project)
    assert {name: (project / "k8s" / name).read_text() for name in NEW_FILES} == once


def test_other_tiers_and_projects_without_git_are_left_alone(render, capsys) -> None:
    mvp = render(tier="mvp")
    git(mvp, "init", "--quiet")
    git(mvp, "add", "--all")
    git(mvp, "commit", "--quiet", "--message=mvp")
    assert migrate(mvp) == []
    growth = render(tier="growth")
    before = {name: (growth / "k8s" / name).read_text() for name in NEW_FILES}
    assert main(["--project", str(growth)]) == 0
    assert capsys.readouterr().out == ""
    assert {name: (growth / "k8s" / name).read_text() for name in NEW_FILES} == before
