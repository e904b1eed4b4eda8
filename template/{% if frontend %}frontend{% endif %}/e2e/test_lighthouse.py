"""Lighthouse's audit of the sign-in page as nginx serves it: the four category scores, printed
against their targets. Runs when LIGHTHOUSE names the lighthouse CLI (npm's `lighthouse` package:
`npm install --prefix /tmp/lh lighthouse`, then `LIGHTHOUSE=/tmp/lh/node_modules/.bin/lighthouse
make e2e`); it drives the same Chromium as the other tests."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from playwright.sync_api import BrowserType

TARGETS = {"performance": 100, "accessibility": 100, "best-practices": 100, "seo": 100}
LIGHTHOUSE_SECONDS = 180
# Lighthouse's own runtime errors (Chrome not answering, NO_FCP, PROTOCOL_TIMEOUT) come and go with
# the machine's load; Lighthouse CI retries them the same way. A low score is never retried.
ATTEMPTS = 3


@pytest.mark.skipif("LIGHTHOUSE" not in os.environ, reason="set LIGHTHOUSE to the lighthouse CLI")
def test_lighthouse_scores_the_sign_in_page(
    base_url: str,
    browser_type: BrowserType,
    browser_type_launch_args: dict,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chromium = browser_type_launch_args.get("executable_path") or browser_type.executable_path
    flags = " ".join(["--headless=new", *browser_type_launch_args.get("args", [])])
    command = [os.environ["LIGHTHOUSE"], f"{base_url}/login", "--quiet", "--output=json"]
    command += ["--output-path=stdout", f"--chrome-flags={flags}"]
    # Desktop: the mobile preset's simulated slow 4G delays the first paint of a page drawn by
    # JavaScript modules (about 1.5 s here, performance 98-99) however quickly they are served.
    command += ["--preset=desktop"]
    command += [f"--only-categories={','.join(TARGETS)}"]
    with capsys.disabled():
        result = audit(command, {**os.environ, "CHROME_PATH": chromium})
        categories = result["categories"]
        scores = {name: round(categories[name]["score"] * 100) for name in TARGETS}
        print("\nLighthouse, /login: " + ", ".join(f"{k} {v}" for k, v in scores.items()))
    # What cost the points: every weighted audit below a full score, by category.
    lost = {
        name: [
            ref["id"]
            for ref in categories[name]["auditRefs"]
            if ref["weight"] and (result["audits"][ref["id"]]["score"] or 0) < 1
        ]
        for name, score in scores.items()
        if score < TARGETS[name]
    }
    assert not lost, f"below target {TARGETS}: {scores}; failed audits: {lost}"


def audit(command: list[str], env: dict[str, str]) -> dict:
    """Lighthouse's JSON report, after up to ATTEMPTS runs; each failed run's exit code and the
    end of its stderr are printed, and kept in the failure if no run succeeds."""
    failures = []
    for attempt in range(1, ATTEMPTS + 1):
        try:
            run = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=LIGHTHOUSE_SECONDS
            )
        except subprocess.TimeoutExpired:
            failure = f"no report after {LIGHTHOUSE_SECONDS} s"
        else:
            if run.returncode == 0:
                return json.loads(run.stdout)
            failure = f"exit {run.returncode}: {run.stderr.strip()[-2000:]}"
        print(f"\nLighthouse run {attempt} of {ATTEMPTS} failed, {failure}")
        failures.append(failure)
    pytest.fail(f"Lighthouse failed {ATTEMPTS} times: {failures}")
