"""Migration for 0.3.0: growth's ConfigMaps moved from manifests to the files kustomize generates
them from (issue 29 item 18), and `copier update` does not carry the founder's values across.

k8s/configmap.yaml (api-config, backup-config) became k8s/api-config.env and k8s/backup-config.env;
the pgbouncer-config ConfigMap of k8s/pgbouncer.yaml became k8s/pgbouncer.ini. The update deletes
configmap.yaml and renders the new files with the template's values. Run after it, in the
project, this copies the values of the last commit's files (what the founder deployed) into the
new ones and says what it did. Idempotent: it only writes what the last commit holds. Without a
git repository or those files in its last commit, it does nothing.

    python migrations/growth_config_files.py [--project .]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import yaml

# The ConfigMaps that moved: their manifest in the last commit and their new file.
ENV_FILES = {"api-config": "k8s/api-config.env", "backup-config": "k8s/backup-config.env"}
INI_FILE = "k8s/pgbouncer.ini"


def committed(project: Path, path: str) -> str | None:
    """`path` as the project's last commit has it, or None."""
    result = subprocess.run(
        ["git", "-C", str(project), "show", f"HEAD:{path}"], capture_output=True, text=True
    )
    return result.stdout if result.returncode == 0 else None


def config_maps(text: str) -> dict[str, dict[str, str]]:
    """The data of each ConfigMap in a manifest, by name."""
    return {
        doc["metadata"]["name"]: {key: str(value) for key, value in (doc.get("data") or {}).items()}
        for doc in yaml.safe_load_all(text)
        if isinstance(doc, dict) and doc.get("kind") == "ConfigMap"
    }


def with_values(env_text: str, values: dict[str, str]) -> str:
    """`env_text` (NAME=value lines) with each of `values` set: an existing line replaced, a new
    name appended; comments and other lines kept."""
    for name, value in values.items():
        line = re.compile(rf"^{re.escape(name)}=.*$", re.MULTILINE)
        if found := line.search(env_text):
            env_text = f"{env_text[: found.start()]}{name}={value}{env_text[found.end() :]}"
        else:
            env_text = env_text.rstrip("\n") + f"\n{name}={value}\n"
    return env_text


def with_ini_body(ini_text: str, body: str) -> str:
    """The new pgbouncer.ini's leading comments, then the founder's configuration."""
    header = re.match(r"(?:;[^\n]*\n)*", ini_text).group(0)
    return header + body


def migrate(project: Path) -> list[str]:
    """Copy the last commit's values into the new files; what was moved, one line each."""
    moved = []
    old_config = committed(project, "k8s/configmap.yaml")
    if old_config is not None:
        for name, values in config_maps(old_config).items():
            target = project / ENV_FILES.get(name, "")
            if name in ENV_FILES and target.is_file():
                target.write_text(with_values(target.read_text(), values))
                moved.append(f"k8s/configmap.yaml's {name} -> {ENV_FILES[name]}")
    old_pgbouncer = committed(project, "k8s/pgbouncer.yaml")
    ini = project / INI_FILE
    if old_pgbouncer is not None and ini.is_file():
        body = config_maps(old_pgbouncer).get("pgbouncer-config", {}).get("pgbouncer.ini")
        if body is not None:
            ini.write_text(with_ini_body(ini.read_text(), body))
            moved.append(f"k8s/pgbouncer.yaml's pgbouncer.ini -> {INI_FILE}")
    return moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    moved = migrate(args.project)
    for line in moved:
        print(f"growth_config_files: {line}")
    if any(INI_FILE in line for line in moved):
        print(
            "growth_config_files: where k8s/pgbouncer.yaml has conflict markers, keep the updated"
            " side: its ConfigMap is k8s/pgbouncer.ini now"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
