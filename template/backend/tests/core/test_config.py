import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from app.core.config import BACKEND_DIR, Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize("secret", ["change-me", "changethis", "too-short-but-random-1234"])
def test_production_refuses_a_default_or_short_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        settings(environment="production", secret_key=secret)


def test_production_accepts_a_long_random_secret() -> None:
    assert settings(environment="production", secret_key="k" * 48).environment == "production"


def test_local_runs_with_the_default_secret() -> None:
    assert settings(environment="local", secret_key="change-me").secret_key == "change-me"


@pytest.mark.parametrize("secret", ["change-me", "Zq8vLm2RtXw4-short"])
def test_production_start_fails_with_one_clear_line_that_never_echoes_the_secret(
    secret: str,
) -> None:
    env = {**os.environ, "ENVIRONMENT": "production", "SECRET_KEY": secret}
    result = subprocess.run(
        [sys.executable, "-m", "app"],
        cwd=BACKEND_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "SECRET_KEY is a default value or shorter than 32 characters" in result.stderr
    assert "Traceback" not in result.stderr
    assert secret[:4] not in result.stderr


def test_a_platforms_port_wins_over_api_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_PORT", "8000")
    assert settings().api_port == 8000
    monkeypatch.setenv("PORT", "10000")
    assert settings().api_port == 10000


def test_cors_origins_is_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example.com, http://localhost:5173/")
    assert settings().cors_origins == ["https://app.example.com", "http://localhost:5173"]


def test_tier_numbers_are_overridable_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_TTL_SECONDS__HIGH_CHANGE", "7")
    monkeypatch.setenv("DB_POOL__SIZE", "3")
    monkeypatch.setenv("RATE_LIMIT__API_PER_MINUTE", "42")
    monkeypatch.setenv("REDIS_MAX_CONNECTIONS", "9")
    configured = settings()
    assert configured.cache_ttl_seconds.high_change == 7
    assert configured.db_pool.size == 3
    assert configured.rate_limit.api_per_minute == 42
    assert configured.redis_max_connections == 9
    # The other numbers keep the tier's defaults.
    assert (
        configured.cache_ttl_seconds.low_change
        == Settings.model_fields["cache_ttl_seconds"].default.low_change
    )


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+asyncpg://u:p@db:5432/app"),
        ("postgresql://u:p@db/app?sslmode=require", "postgresql+asyncpg://u:p@db/app?ssl=require"),
        ("sqlite+aiosqlite:////tmp/app.sqlite3", "sqlite+aiosqlite:////tmp/app.sqlite3"),
    ],
)
def test_database_urls_use_the_async_drivers(given: str, used: str) -> None:
    assert settings(database_url=given).database_url == used


def test_local_links_follow_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make dev PORT=8123` gives the app PORT=8123: its emails link to that port."""
    monkeypatch.setenv("PORT", "8123")
    assert settings(environment="local").public_url == "http://127.0.0.1:8123"


def test_a_set_public_url_wins_and_production_keeps_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PORT", "8123")
    chosen = settings(environment="local", public_url="https://dev.example.test")
    assert chosen.public_url == "https://dev.example.test"
    production = settings(environment="production", secret_key="k" * 48)
    assert production.public_url != "http://127.0.0.1:8123"
