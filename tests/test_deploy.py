"""Deploy files that pass their schemas but would fail the founder on the first real deploy
(issue 21): the workflow guards, the example secret, the Redis memory headroom; and what each mvp
container is given from .env (issue 29)."""

from __future__ import annotations

import contextlib
import http.server
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pydantic
import pytest
import yaml
from conftest import TIERS

from tests.production_settings import given_but_unread, undelivered, unpassed_options

MEGABYTES = re.compile(r"^(\d+)M$")


def deploy_triggers(project) -> list[str]:
    """The `if:` of every job of deploy.yml that needs no other job: where a run starts."""
    workflow = yaml.safe_load((project / ".github" / "workflows" / "deploy.yml").read_text())
    return [job.get("if", "") for job in workflow["jobs"].values() if "needs" not in job]


@pytest.mark.parametrize("tier", ["mvp", "growth"])
def test_deploy_runs_only_after_a_push_to_this_repository(render, tier) -> None:
    # A fork's pull request from its own branch named main also completes a CI run "on main".
    for condition in deploy_triggers(render(tier=tier)):
        assert "github.event.workflow_run.event == 'push'" in condition, condition
        assert (
            "github.event.workflow_run.head_repository.full_name == github.repository" in condition
        ), condition
        assert "github.event.workflow_run.conclusion == 'success'" in condition, condition


def generated_settings(project):
    """The generated backend's Settings class, imported from the rendered project."""
    path = project / "backend" / "app" / "core" / "config.py"
    name = f"generated_config_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.Settings


def test_the_example_secret_is_refused_in_production(render) -> None:
    project = render(tier="growth")
    examples = yaml.safe_load_all((project / "k8s" / "secret.example.yaml").read_text())
    example = next(e["stringData"] for e in examples if "SECRET_KEY" in e.get("stringData", {}))
    settings = generated_settings(project)
    with pytest.raises(pydantic.ValidationError, match="SECRET_KEY"):
        settings(environment="production", secret_key=example["SECRET_KEY"])
    # The refusal is the example's doing, not any production setting's.
    settings(environment="production", secret_key="x" * 48)


@pytest.mark.parametrize("tier", ["mvp", "growth"])
def test_redis_limit_is_maxmemory_plus_the_stated_headroom(tier) -> None:
    redis = TIERS[tier]["redis"]
    # Fragmentation and client buffers take Redis's resident memory well past maxmemory.
    assert redis["container_headroom_percent"] >= 50
    expected = -(-redis["maxmemory_mb"] * (100 + redis["container_headroom_percent"]) // 100)
    limits = (
        TIERS[tier].get("memory_limits_mb", {}).get("redis")
        or TIERS[tier]["pod_memory_mb"]["redis_limit"]
    )
    assert limits == expected


def test_rendered_redis_limits_follow_the_headroom(render) -> None:
    mvp = yaml.safe_load((render(tier="mvp") / "compose.prod.yaml").read_text())["services"]
    redis = TIERS["mvp"]["redis"]
    limit = int(MEGABYTES.match(mvp["redis"]["deploy"]["resources"]["limits"]["memory"])[1])
    assert limit >= redis["maxmemory_mb"] * (100 + redis["container_headroom_percent"]) / 100
    growth = render(tier="growth") / "k8s" / "redis.yaml"
    container = next(yaml.safe_load_all(growth.read_text()))["spec"]["template"]["spec"]
    memory = container["containers"][0]["resources"]["limits"]["memory"]
    redis = TIERS["growth"]["redis"]
    assert int(memory.removesuffix("Mi")) >= (
        redis["maxmemory_mb"] * (100 + redis["container_headroom_percent"]) / 100
    )


@pytest.mark.parametrize("frontend", [True, False], ids=["frontend", "api-only"])
def test_growth_builds_and_bumps_exactly_the_images_the_manifests_use(render, frontend) -> None:
    project = render(tier="growth", frontend=frontend)
    workflow = yaml.safe_load((project / ".github" / "workflows" / "deploy.yml").read_text())
    matrix = workflow["jobs"]["images"]["strategy"]["matrix"]["include"]
    built = {entry["image"] for entry in matrix}
    kustomization = yaml.safe_load((project / "k8s" / "kustomization.yaml").read_text())
    used = {image["name"] for image in kustomization["images"]}
    assert built == used
    bump = step(workflow, "bump-manifests", "Point k8s/ at the new images")
    assert set(re.findall(r'"(\w+)=\$repository-', bump)) == used


def step(workflow: dict, job: str, name: str) -> str:
    return next(s["run"] for s in workflow["jobs"][job]["steps"] if s.get("name") == name)


def git(*args: str, cwd, env=None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout


def test_the_manifest_bump_lands_on_a_main_that_moved_meanwhile(render, tmp_path) -> None:
    """The bump step's own script, against a local bare repository standing in for GitHub (git's
    url.insteadOf), after another commit reached main since the workflow checked it out."""
    project = render(tier="growth")
    workflow = yaml.safe_load((project / ".github" / "workflows" / "deploy.yml").read_text())
    script = step(workflow, "bump-manifests", "Commit and push the bump (ArgoCD syncs from main)")
    origin, checkout, other = tmp_path / "origin.git", tmp_path / "checkout", tmp_path / "other"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sleep").write_text("#!/bin/sh\n")  # no waiting between attempts here
    (bin_dir / "sleep").chmod(0o755)
    gitconfig = tmp_path / "gitconfig"
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GITHUB_TOKEN": "token",
        "GITHUB_REPOSITORY": "owner/app",
        "IMAGE_TAG": "abc123",
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
    }
    gitconfig.write_text(
        f'[url "{origin.as_uri()}"]\n\tinsteadOf = https://x-access-token:token@github.com/owner/app.git\n'
        "[user]\n\tname = Someone\n\temail = someone@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    git("init", "--quiet", "--bare", str(origin), cwd=tmp_path, env=env)
    git("clone", "--quiet", str(origin), str(other), cwd=tmp_path, env=env)
    (other / "k8s").mkdir()
    (other / "k8s" / "kustomization.yaml").write_text("images: []\n")
    git("add", "--all", cwd=other, env=env)
    git("commit", "--quiet", "-m", "first", cwd=other, env=env)
    git("push", "--quiet", "origin", "HEAD:main", cwd=other, env=env)
    git("clone", "--quiet", str(origin), str(checkout), cwd=tmp_path, env=env)
    (checkout / "k8s" / "kustomization.yaml").write_text("images: [abc123]\n")  # the bump
    (other / "README.md").write_text("meanwhile\n")
    git("add", "--all", cwd=other, env=env)
    git("commit", "--quiet", "-m", "meanwhile", cwd=other, env=env)
    git("push", "--quiet", "origin", "HEAD:main", cwd=other, env=env)

    result = subprocess.run(
        ["bash", "-e", "-c", script], cwd=checkout, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    log = git("log", "--format=%s", "main", cwd=origin, env=env).split("\n")
    assert log[:3] == ["deploy: images abc123 [skip ci]", "meanwhile", "first"]


def postgres_image_major(image: str) -> int:
    """16 for postgres:16-alpine."""
    return int(re.fullmatch(r"postgres:(\d+)(-alpine)?", image)[1])


@pytest.mark.parametrize("tier", ["mvp", "growth"])
def test_the_backup_image_dumps_with_the_servers_major_version(render, tier) -> None:
    # pg_dump refuses a server newer than itself: 16 cannot back up 17.
    project = render(tier=tier)
    dockerfile = (project / "scripts" / "Dockerfile").read_text()
    backup_major = postgres_image_major(re.search(r"^FROM (\S+)", dockerfile, re.M)[1])
    assert backup_major == TIERS[tier]["postgres_major_version"]
    compose = "compose.prod.yaml" if tier == "mvp" else "compose.yaml"
    services = yaml.safe_load((project / compose).read_text())["services"]
    assert postgres_image_major(services["db"]["image"]) == backup_major
    if tier == "growth":
        operations = (project / "docs" / "operations.md").read_text()
        assert f"managed PostgreSQL, version {backup_major}" in operations


def test_the_documented_restore_runs_where_pg_restore_is(render) -> None:
    """The droplet has no PostgreSQL client tools: the docs run restore.sh in the backup service."""
    project = render(tier="mvp")
    operations = (project / "docs" / "operations.md").read_text()
    commands = re.findall(
        r"^ {4}(docker compose .*?)(?<!\\)$", operations.replace("\\\n", " "), re.M
    )
    restores = [command for command in commands if "restore.sh" in command]
    assert restores, "docs/operations.md gives no docker compose command for restore.sh"
    services = yaml.safe_load((project / "compose.prod.yaml").read_text())["services"]
    dockerfile = (project / "scripts" / "Dockerfile").read_text()
    for command in restores:
        words = command.split()
        assert words[:5] == ["docker", "compose", "-f", "compose.prod.yaml", "run"], command
        entrypoint = words[words.index("--entrypoint") + 1]
        service = words[-2]
        assert services[service]["build"] == "./scripts", command
        assert re.search(rf"COPY .*\b{re.escape(entrypoint)}\b.* /usr/local/bin/", dockerfile)
        assert "RESTORE_DATABASE_URL=" in command


@pytest.mark.parametrize("sign_in_with", [["github"], ["google", "oidc"]], ids="-".join)
def test_the_app_containers_get_only_the_variables_the_app_reads(render, sign_in_with) -> None:
    """Issue 29: api, worker and migrations loaded .env whole (env_file), so a bug or a dependency
    that dumps its environment leaked the key that can delete every backup, the tunnel token and
    the Slack webhook. Each now gets the variables the rendered Settings read, and all of them."""
    project = render(tier="mvp", sign_in_with=sign_in_with)
    assert given_but_unread(project) == {}
    # Nothing the app reads is lost on the way: what .env.example sets reaches the api and the
    # worker, and an optional setting uncommented in .env reaches the api.
    assert undelivered(project, "mvp") == {}
    assert unpassed_options(project, "api") == []
    services = yaml.safe_load((project / "compose.prod.yaml").read_text())["services"]
    for name in ("api", "worker", "migrations"):
        assert "env_file" not in services[name], name


# --- nginx behind TLS termination (issue 29) -----------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EchoForwardedProto(http.server.BaseHTTPRequestHandler):
    """The API's stand-in: answers with the X-Forwarded-Proto nginx sent it."""

    def do_GET(self) -> None:
        body = (self.headers.get("X-Forwarded-Proto") or "(none)").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def running_nginx(project, tmp_path, api_upstream: str):
    """The rendered nginx/ run by its own start.sh (as the web image runs it) with /tmp paths and
    the port moved into `tmp_path`, as tests/variant_checks/web.py's check does; yields its URL."""
    directory = (tmp_path / "nginx").resolve()
    shutil.copytree(project / "nginx", directory)
    config = directory / "nginx.conf"
    port = free_port()
    text = config.read_text().replace("/tmp/", f"{directory}/")
    config.write_text(text.replace("listen 8080;", f"listen 127.0.0.1:{port};"))
    start = ["sh", str(directory / "start.sh"), "-p", str(directory), "-c", str(config)]
    env = {**os.environ, "NGINX_RUNTIME_DIR": str(directory), "API_UPSTREAM": api_upstream}
    subprocess.run([*start, "-t"], env=env, check=True, capture_output=True)
    full = subprocess.run([*start, "-T"], env=env, check=True, capture_output=True, text=True)
    server = subprocess.Popen(start, env=env, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", full.stdout
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.skipif(shutil.which("nginx") is None, reason="needs nginx")
@pytest.mark.parametrize(
    ("tier", "frontend"), [("mvp", True), ("mvp", False), ("growth", True)], ids=str
)
def test_nginx_passes_the_scheme_tls_ended_at_on_to_the_api(
    render, tmp_path, tier, frontend
) -> None:
    """Cloudflare's tunnel (mvp) and the load balancer (growth) end TLS and reach nginx over plain
    HTTP: `X-Forwarded-Proto $scheme` told the API `http`, so its redirects and absolute URLs said
    http://. nginx now passes on the value it received, and its own scheme only when none came."""
    project = render(tier=tier, frontend=frontend)
    api = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoForwardedProto)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    path = "/api/v1/anything" if frontend else "/anything"
    try:
        with running_nginx(project, tmp_path, f"127.0.0.1:{api.server_port}") as (url, full):
            assert re.search(r"^\s*map \$http_x_forwarded_proto \$forwarded_proto \{", full, re.M)
            assert "proxy_set_header X-Forwarded-Proto $forwarded_proto;" in full
            behind_tls = urllib.request.Request(url + path, headers={"X-Forwarded-Proto": "https"})
            with urllib.request.urlopen(behind_tls, timeout=5) as answer:
                assert answer.read() == b"https"
            with urllib.request.urlopen(url + path, timeout=5) as answer:
                assert answer.read() == b"http"
    finally:
        api.shutdown()


# --- the backup container's memory (issue 29) ----------------------------------------------------

AWS_STAND_IN = """#!/usr/bin/env bash
# Records the AWS CLI configuration a transfer runs with; answers `ls` with the uploaded size.
if [[ " $* " == *" cp "* ]]; then
  cat "${AWS_CONFIG_FILE:-/nonexistent}" >"$STATE/config" 2>/dev/null || echo unset >"$STATE/config"
  source="${@: -2:1}" target="${@: -1}"
  if [[ "$target" == s3://* ]]; then wc -c <"$source" >"$STATE/size"; else echo dump >"$target"; fi
elif [[ " $* " == *" ls "* && "${@: -1}" != */ ]]; then
  echo "2030-01-01 00:00:00 $(cat "$STATE/size") name"
fi
"""
STAND_INS = {
    "aws": AWS_STAND_IN,
    # --file=<path> gets a dump (pg_dump) or the restore's SQL (pg_restore).
    "pg_dump": '#!/usr/bin/env bash\nfor a; do [[ $a != --file=* ]] || echo 1 >"${a#*=}"; done\n',
    "pg_restore": '#!/usr/bin/env bash\nfor a; do [[ $a != --file=* ]] || : >"${a#*=}"; done\n',
    "psql": "#!/usr/bin/env bash\n",
}


@pytest.mark.parametrize("script", ["backup.sh", "restore.sh"])
def test_backup_and_restore_move_two_parts_at_a_time(render, tmp_path, script) -> None:
    """Issue 29: `aws s3 cp` of a 300 MB dump peaked at 91 MiB in the 96 MB backup container with
    the CLI's default of 10 concurrent 8 MB parts. Both scripts run it with 2, through a config
    file of their own (the real CLI's format), unless the founder has one."""
    project = render(tier="mvp")
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    for name, text in STAND_INS.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "STATE": str(state),
        "S3_BUCKET": "bucket",
        "BACKUP_DATABASE_URL": "postgresql://u:p@db:5432/app",
        "RESTORE_DATABASE_URL": "postgresql://u:p@db:5432/app",
    }
    argument = ["my-app-20300101T000000Z.dump"] if script == "restore.sh" else []
    result = subprocess.run(
        ["bash", str(project / "scripts" / script), *argument],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    config = (state / "config").read_text()
    assert re.search(r"^\[default\]\ns3 =\n\s+max_concurrent_requests = 2$", config, re.M), config
    # A founder's own configuration wins.
    (tmp_path / "mine").write_text("[default]\n")
    result = subprocess.run(
        ["bash", str(project / "scripts" / script), *argument],
        env={**env, "AWS_CONFIG_FILE": str(tmp_path / "mine")}, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert (state / "config").read_text() == "[default]\n"


def test_the_copied_configuration_is_mounted_by_folder(render) -> None:
    """Issue 29: the deploy workflow copies monitoring/ and nginx/ with rsync, which replaces each
    changed file by a new one (a new inode): a container that mounts the single file keeps seeing
    the old one until it is recreated. Every bind mount of what the workflow copies is a folder."""
    project = render(tier="mvp")
    workflow = (project / ".github" / "workflows" / "deploy.yml").read_text()
    rsync = re.search(r"rsync -az .*? --relative\s+(.+?)\s+\"", workflow, re.DOTALL)
    copied = rsync.group(1).split()
    services = yaml.safe_load((project / "compose.prod.yaml").read_text())["services"]
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith("./"):
                continue
            path = project / source
            if source[2:].split("/")[0] in copied:
                assert path.is_dir(), f"{name} mounts the single file {source}"


# --- the visitor's address behind growth's proxies (issue 29) ------------------------------------

CLOUDFLARE_EDGE = "173.245.48.10"  # in Cloudflare's 173.245.48.0/20
VISITOR = "198.51.100.23"
ELSEWHERE = "203.0.113.66"  # someone who reaches the load balancer without Cloudflare
ECHO_CLIENT_APP = '''
async def app(scope, receive, send):
    """Answers with the client address uvicorn gave the request, which the API's limits use."""
    body = scope["client"][0].encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
'''


@contextlib.contextmanager
def running_uvicorn(tmp_path, forwarded_allow_ips: str):
    """uvicorn as `python -m app` runs it in the API image (proxy headers on, FORWARDED_ALLOW_IPS
    from the environment), serving an app that echoes the client address; yields host:port."""
    (tmp_path / "echo_client.py").write_text(ECHO_CLIENT_APP)
    port = free_port()
    env = {**os.environ, "FORWARDED_ALLOW_IPS": forwarded_allow_ips}
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(tmp_path), "echo_client:app"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--proxy-headers", "--log-level", "warning"], env=env
    )
    try:
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
            time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def ingress_forwarded_for(*hops: str) -> dict[str, str]:
    """What ingress-nginx sends with compute-full-forwarded-for and the PROXY protocol: the
    X-Forwarded-For it got, then the address the load balancer saw."""
    return {"X-Forwarded-For": ", ".join(hops)}


@pytest.mark.skipif(shutil.which("nginx") is None, reason="needs nginx")
@pytest.mark.parametrize("frontend", [True, False], ids=["through-web-nginx", "api-only"])
def test_growth_limits_see_the_visitor_not_the_cloudflare_edge(render, tmp_path, frontend) -> None:
    """Issue 29: behind Cloudflare and the DigitalOcean load balancer the API took every visitor
    of one Cloudflare edge for one client (one sign-in limit for all of them). ingress-nginx now
    appends the address the load balancer saw (PROXY protocol) and the API believes what comes
    before it only from Cloudflare's addresses. The rendered api-config.env's FORWARDED_ALLOW_IPS
    in the real uvicorn, behind the rendered nginx where the project has one; 127.0.0.1 stands in
    for the cluster's pod addresses (10.0.0.0/8 there)."""
    project = render(tier="growth", frontend=frontend)
    values = yaml.safe_load((project / "k8s" / "ingress-nginx-values.yaml").read_text())
    annotations = values["controller"]["service"]["annotations"]
    assert annotations["service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol"] == "true"
    # Pods that reach the load balancer by its IP would skip it (no PROXY header): a name instead.
    domain = yaml.safe_load((project / ".copier-answers.yml").read_text())["domain"]
    assert annotations["service.beta.kubernetes.io/do-loadbalancer-hostname"] == domain
    config = values["controller"]["config"]
    for key in ("use-proxy-protocol", "use-forwarded-headers", "compute-full-forwarded-for"):
        assert config[key] == "true", key
    # make infra-up installs ingress-nginx with these values (infra/tests checks the release's).
    assert '"ingress-nginx-values.yaml"' in (project / "infra" / "cluster.py").read_text()
    api_config = (project / "k8s" / "api-config.env").read_text()
    allowed = re.search(r"^FORWARDED_ALLOW_IPS=(\S+)$", api_config, re.M)[1]
    cases = {
        # Cloudflare appended the visitor; a client's own X-Forwarded-For comes before it.
        (VISITOR, CLOUDFLARE_EDGE): VISITOR,
        ("10.9.9.9", VISITOR, CLOUDFLARE_EDGE): VISITOR,
        # Straight to the load balancer: whatever it claims, the address that connected.
        (VISITOR, ELSEWHERE): ELSEWHERE,
        (ELSEWHERE,): ELSEWHERE,
    }
    with contextlib.ExitStack() as stack:
        api = stack.enter_context(running_uvicorn(tmp_path, f"{allowed},127.0.0.1"))
        url = f"http://{api}"
        if frontend:
            url, _ = stack.enter_context(running_nginx(project, tmp_path, api))
            url += "/api/v1/auth/login"
        seen = {}
        for hops in cases:
            request = urllib.request.Request(url, headers=ingress_forwarded_for(*hops))
            with urllib.request.urlopen(request, timeout=5) as answer:
                seen[hops] = answer.read().decode()
    assert seen == cases
