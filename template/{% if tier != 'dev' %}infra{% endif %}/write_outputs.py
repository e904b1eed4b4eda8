"""Put the stack's outputs where the project reads them, so no file is edited by hand after
`make infra-up` (which runs this):

- the app's settings into .env.production (gitignored; started from .env when missing): the
  droplet's .env on mvp, the Secret's env file on growth; its other lines are kept;
- on growth, the managed database's host and port, and its read replica's, into
  k8s/pgbouncer.ini and its CA certificate into k8s/database-ca.crt (both public: commit them).

    pulumi stack output --json --show-secrets | uv run python write_outputs.py
"""

import json
import re
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = ".env.production"
# Outputs that are not the app's settings: PgBouncer's server and CA, the deploy secrets.
NOT_SETTINGS = {
    "DATABASE_HOST",
    "DATABASE_PORT",
    "DATABASE_READ_HOST",
    "DATABASE_READ_PORT",
    "DATABASE_CA_CERTIFICATE",
    "DEPLOY_HOST",
    "DEPLOY_USER",
}
# A [databases] line: "<name> = host=... port=... dbname=..."; the replica's name ends in _replica.
PGBOUNCER_SERVER = re.compile(r"^(?P<name>\w+) = host=\S+ port=\d+", re.MULTILINE)


def merge_env(text: str, settings: dict[str, str]) -> str:
    """`text` (an env file) with each setting's line replaced, or appended where it has none."""
    lines = text.splitlines()
    missing = dict(settings)
    for index, line in enumerate(lines):
        name = line.partition("=")[0].strip()
        if name in missing:
            lines[index] = f"{name}={missing.pop(name)}"
    lines += [f"{name}={value}" for name, value in missing.items()]
    return "\n".join(lines) + "\n"


def write(outputs: dict[str, str], root: Path) -> list[Path]:
    """Write `outputs` into the project at `root`; returns the files written."""
    settings = {name: str(value) for name, value in outputs.items() if name not in NOT_SETTINGS}
    if multiline := [name for name, value in settings.items() if "\n" in value]:
        raise SystemExit(f"{', '.join(multiline)}: an env file holds one line per setting")
    env_file = root / ENV_FILE
    start = env_file if env_file.exists() else root / ".env"
    text = start.read_text() if start.exists() else ""
    env_file.write_text(merge_env(text, settings))
    env_file.chmod(0o600)
    written = [env_file]
    if "DATABASE_HOST" in outputs:
        pgbouncer = root / "k8s" / "pgbouncer.ini"
        primary = f"host={outputs['DATABASE_HOST']} port={outputs['DATABASE_PORT']}"
        replica = f"host={outputs['DATABASE_READ_HOST']} port={outputs['DATABASE_READ_PORT']}"
        found: list[str] = []

        def server(line: re.Match[str]) -> str:
            found.append(line["name"])
            return f"{line['name']} = {replica if line['name'].endswith('_replica') else primary}"

        text = PGBOUNCER_SERVER.sub(server, pgbouncer.read_text())
        if len(found) != 2 or sum(name.endswith("_replica") for name in found) != 1:
            raise SystemExit(f"{pgbouncer}: expected a database and its _replica, found {found}")
        pgbouncer.write_text(text)
        certificate = root / "k8s" / "database-ca.crt"
        certificate.write_text(outputs["DATABASE_CA_CERTIFICATE"])
        written += [pgbouncer, certificate]
    return written


def main() -> None:
    outputs = json.load(sys.stdin)
    for path in write(outputs, PROJECT_ROOT):
        print(f"wrote {path.relative_to(PROJECT_ROOT)}")
    if "DEPLOY_HOST" in outputs:
        print(
            "Set the deploy workflow's secrets DEPLOY_HOST and DEPLOY_USER:\n"
            f"  gh secret set DEPLOY_HOST --body {outputs['DEPLOY_HOST']}\n"
            f"  gh secret set DEPLOY_USER --body {outputs['DEPLOY_USER']}"
        )


if __name__ == "__main__":
    main()
