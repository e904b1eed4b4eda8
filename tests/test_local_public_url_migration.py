"""migrations/local_public_url.py (0.3.0): production's PUBLIC_URL leaves the founder's .env, so a
local run's emails link to the running app (issue 30); a PUBLIC_URL of their own stays."""

from __future__ import annotations

from pathlib import Path

from migrations.local_public_url import comment_out, main

ENV = "SECRET_KEY=s3cret\nPUBLIC_URL=https://app.example.org\nSMTP_PORT=587\n"


def test_production_address_is_commented_out_and_every_other_line_kept() -> None:
    changed = comment_out(ENV, "app.example.org")
    assert "\nPUBLIC_URL=" not in changed
    assert "# PUBLIC_URL=https://app.example.org\n" in changed
    assert changed.startswith("SECRET_KEY=s3cret\n")
    assert changed.endswith("SMTP_PORT=587\n")


def test_running_twice_changes_nothing_more() -> None:
    once = comment_out(ENV, "app.example.org")
    assert comment_out(once, "app.example.org") == once


def test_a_public_url_the_founder_chose_is_kept() -> None:
    for own in ("PUBLIC_URL=http://127.0.0.1:8123\n", "PUBLIC_URL=https://staging.example.org\n"):
        assert comment_out(own, "app.example.org") == own


def test_the_env_file_is_changed_in_place(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(ENV)
    assert main(["app.example.org", f"--file={env}"]) == 0
    assert "\nPUBLIC_URL=" not in env.read_text()
    assert main(["app.example.org", f"--file={tmp_path / 'missing.env'}"]) == 0
