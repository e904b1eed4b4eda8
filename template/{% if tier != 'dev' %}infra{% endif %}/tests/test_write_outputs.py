"""write_outputs.py puts the stack's outputs (here the mocked run's) into a copy of the project."""

import shutil
from pathlib import Path

import pytest

import tier
from write_outputs import merge_env, write

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_merge_env_replaces_a_setting_and_keeps_every_other_line():
    text = "# production\nSECRET_KEY=kept\nS3_BUCKET=old\n"
    merged = merge_env(text, {"S3_BUCKET": "new", "S3_REGION": "nyc3"})
    assert merged == "# production\nSECRET_KEY=kept\nS3_BUCKET=new\nS3_REGION=nyc3\n"


def test_outputs_land_in_the_files_the_project_reads(program, tmp_path):
    (tmp_path / ".env").write_text("SECRET_KEY=from-the-local-env\n")
    if (PROJECT_ROOT / "k8s").is_dir():
        shutil.copytree(PROJECT_ROOT / "k8s", tmp_path / "k8s")
    written = write(program.outputs, tmp_path)
    env = (tmp_path / ".env.production").read_text().splitlines()
    assert "SECRET_KEY=from-the-local-env" in env
    assert f"S3_BUCKET={program.outputs['S3_BUCKET']}" in env
    assert f"S3_SECRET_ACCESS_KEY={program.outputs['S3_SECRET_ACCESS_KEY']}" in env
    assert (tmp_path / ".env.production").stat().st_mode & 0o077 == 0
    if "DATABASE_HOST" in program.outputs:
        pgbouncer = (tmp_path / "k8s" / "pgbouncer.ini").read_text()
        assert "your-cluster" not in pgbouncer and "your-replica" not in pgbouncer
        databases = dict(
            line.split(" = host=", 1) for line in pgbouncer.splitlines() if " = host=" in line
        )
        assert {name: server.split(" dbname=")[0] for name, server in databases.items()} == {
            tier.DATABASE_NAME: "private-db-primary.example.net port=25060",
            f"{tier.DATABASE_NAME}_replica": "private-db-replica.example.net port=25060",
        }
        ca = (tmp_path / "k8s" / "database-ca.crt").read_text()
        assert ca == program.outputs["DATABASE_CA_CERTIFICATE"]
        assert f"DATABASE_URL={program.outputs['DATABASE_URL']}" in env
        assert len(written) == 3
    else:
        assert f"CLOUDFLARE_TUNNEL_TOKEN={program.outputs['CLOUDFLARE_TUNNEL_TOKEN']}" in env
        assert not any(line.startswith("DEPLOY_HOST=") for line in env)


def test_a_multiline_setting_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="S3_BUCKET"):
        write({"S3_BUCKET": "two\nlines"}, tmp_path)
