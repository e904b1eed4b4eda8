"""Issue 29 item 15: nothing alerted when the site was down. mvp and growth probe their public URL
through the front door with the blackbox exporter (SiteDown) and have a Watchdog, an
always-firing alert that Alertmanager sends only to the heartbeat URL: the external service that
pages when it stops. Checked with the real promtool, amtool and blackbox_exporter."""

from __future__ import annotations

import contextlib
import http.server
import re
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest
import yaml
from conftest import TIERS

from tests.test_deploy import free_port

BLACKBOX = shutil.which("prometheus-blackbox-exporter") or shutil.which("blackbox_exporter")


def rule_names(monitoring) -> set[str]:
    return {
        rule["alert"]
        for path in (monitoring / "rules").glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


def names_under_test(monitoring) -> set[str]:
    return {
        case["alertname"]
        for path in (monitoring / "tests").glob("*.yml")
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    }


@pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool")
@pytest.mark.parametrize("tier", ["mvp", "growth"])
def test_the_uptime_alerts_exist_and_their_promtool_tests_pass(render, tier) -> None:
    monitoring = render(tier=tier) / "monitoring"
    expected = {"Watchdog", "SiteDown", "FrontDoorProbeMissing"}
    assert expected <= rule_names(monitoring)
    assert expected <= names_under_test(monitoring)
    tests = sorted(str(path) for path in (monitoring / "tests").glob("*.yml"))
    result = subprocess.run(["promtool", "test", "rules", *tests], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    check = subprocess.run(
        ["promtool", "check", "config", "prometheus.yml"],
        cwd=monitoring, capture_output=True, text=True,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def receiver(alertmanager_yml, **labels: str) -> str:
    result = subprocess.run(
        ["amtool", "config", "routes", "test", f"--config.file={alertmanager_yml}"]
        + [f"{name}={value}" for name, value in labels.items()],
        capture_output=True, text=True,
    )  # fmt: skip
    return result.stdout.strip()


@pytest.mark.skipif(shutil.which("amtool") is None, reason="needs amtool")
@pytest.mark.parametrize("tier", ["mvp", "growth"])
def test_the_watchdog_goes_to_the_heartbeat_and_nowhere_else(render, tier) -> None:
    project = render(tier=tier)
    alertmanager_yml = project / "monitoring" / "alertmanager.yml"
    check = subprocess.run(["amtool", "check-config", str(alertmanager_yml)], capture_output=True)
    assert check.returncode == 0, check.stdout
    assert receiver(alertmanager_yml, alertname="Watchdog", severity="heartbeat") == "heartbeat"
    assert receiver(alertmanager_yml, alertname="ApiDown", severity="critical") == "founder"
    config = yaml.safe_load(alertmanager_yml.read_text())
    heartbeat = next(r for r in config["receivers"] if r["name"] == "heartbeat")
    url_file = heartbeat["slack_configs"][0]["api_url_file"]
    # The file is where the secret arrives: compose's secret on mvp, the Secret's key on growth.
    name = url_file.removeprefix("/run/secrets/")
    if tier == "mvp":
        compose = yaml.safe_load((project / "compose.prod.yaml").read_text())
        assert name in compose["services"]["alertmanager"]["secrets"]
        variable = compose["secrets"][name]["environment"]
        assert re.search(rf"^{variable}=\S+$", (project / ".env.example").read_text(), re.M)
    else:
        stack = (project / "monitoring" / "argocd" / "prometheus.yaml").read_text()
        assert f"--from-literal={name}=" in stack


class ReadyStandIn(http.server.BaseHTTPRequestHandler):
    """The site's /health/ready: 200, or 503 once `down` is set."""

    down = False

    def do_GET(self) -> None:
        self.send_response(503 if ReadyStandIn.down else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def running_blackbox(config, port: int):
    process = subprocess.Popen(
        [BLACKBOX, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/-/healthy", timeout=1)
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.skipif(BLACKBOX is None, reason="needs prometheus-blackbox-exporter")
def test_the_front_door_probe_fails_when_the_site_does(render) -> None:
    """The rendered blackbox.yml in the real exporter, asked as Prometheus's front-door job asks
    it (its module and its target, pointed at a local stand-in of the site)."""
    project = render(tier="mvp")
    monitoring = project / "monitoring"
    config = yaml.safe_load((monitoring / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "front-door")
    (target,) = job["static_configs"][0]["targets"]
    domain = yaml.safe_load((project / ".copier-answers.yml").read_text())["domain"]
    assert target == f"https://{domain}/health/ready"
    compose = yaml.safe_load((project / "compose.prod.yaml").read_text())["services"]
    exporter = compose["blackbox-exporter"]
    assert job["relabel_configs"][-1]["replacement"] == "blackbox-exporter:9115"
    check = subprocess.run(
        [BLACKBOX, f"--config.file={monitoring / 'blackbox.yml'}", "--config.check"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert "--config.file=/etc/blackbox/monitoring/blackbox.yml" in exporter["command"]
    assert "./monitoring:/etc/blackbox/monitoring:ro" in exporter["volumes"]
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ReadyStandIn)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    local = f"http://127.0.0.1:{site.server_port}/health/ready"
    query = urllib.parse.urlencode({"module": job["params"]["module"][0], "target": local})
    try:
        with running_blackbox(monitoring / "blackbox.yml", free_port()) as url:
            results = []
            for down in (False, True):
                ReadyStandIn.down = down
                with urllib.request.urlopen(f"{url}{job['metrics_path']}?{query}", timeout=15) as r:
                    results.append(re.search(r"^probe_success (\d)", r.read().decode(), re.M)[1])
            assert results == ["1", "0"]
    finally:
        site.shutdown()


def test_the_probe_is_in_the_droplet_budget() -> None:
    limits = TIERS["mvp"]["memory_limits_mb"]
    assert limits["blackbox_exporter"] >= 19 * 1.25  # its measured peak plus a quarter


def test_growth_probes_the_same_way_from_its_own_exporter(render) -> None:
    """growth's exporter is a chart ArgoCD installs: its module is mvp's, and Prometheus's
    front-door job reaches it by the name the chart's values give its Service."""
    mvp = yaml.safe_load((render(tier="mvp") / "monitoring" / "blackbox.yml").read_text())
    growth = render(tier="growth")
    application = yaml.safe_load(
        (growth / "monitoring" / "argocd" / "blackbox-exporter.yaml").read_text()
    )
    chart = application["spec"]["source"]["helm"]["valuesObject"]
    assert chart["config"] == mvp
    config = yaml.safe_load((growth / "monitoring" / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "front-door")
    host, port = job["relabel_configs"][-1]["replacement"].split(":")
    assert (host, int(port)) == (chart["fullnameOverride"], chart["service"]["port"])
    assert application["spec"]["destination"]["namespace"] == "monitoring"
    assert job["params"]["module"][0] in chart["config"]["modules"]
