"""How much JavaScript a first visit downloads: printed against the budget, not a timing test."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

BUDGET_KB = 30
# A ceiling far above the budget: only a real regression (a stray library, no gzip) trips it.
CEILING_KB = 100
# nginx leaves files below gzip_min_length as they are.
GZIP_MIN_BYTES = 256


def test_first_load_javascript_is_small_and_gzipped(
    page: Page, capsys: pytest.CaptureFixture[str]
) -> None:
    page.goto("/")
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    page.wait_for_load_state("networkidle")
    # Bytes on the wire (after gzip) and unpacked, as the browser's Resource Timing saw them.
    scripts = page.evaluate(
        """() => performance.getEntriesByType("resource")
            .filter((entry) => new URL(entry.name).pathname.endsWith(".js"))
            .map((entry) => ({
                url: entry.name, wire: entry.encodedBodySize, size: entry.decodedBodySize
            }))"""
    )
    wire_kb = sum(script["wire"] for script in scripts) / 1024
    size_kb = sum(script["size"] for script in scripts) / 1024
    with capsys.disabled():
        print(
            f"\nfirst-load JavaScript: {len(scripts)} files, {wire_kb:.1f} KB gzipped "
            f"({size_kb:.1f} KB unpacked); budget {BUDGET_KB} KB"
        )
    assert scripts, "no JavaScript was loaded"
    uncompressed = [
        s["url"] for s in scripts if s["size"] > GZIP_MIN_BYTES and s["wire"] >= s["size"]
    ]
    assert not uncompressed, f"served without compression: {uncompressed}"
    assert wire_kb < CEILING_KB
