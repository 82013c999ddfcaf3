"""Settings: development invents and keeps its secrets; production demands them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.settings import ConfigError, Settings, get_settings, mask_url


def test_development_invents_secrets_once_and_keeps_them(tmp_path: Path) -> None:
    # given a development data directory
    first = Settings(env="development", data_dir=tmp_path)
    # when secrets are required the first time
    first.require_secrets()
    # then keys and a secret are invented
    assert first.admin_key and first.admin_key.startswith("adm_")
    assert first.integration_key and first.integration_key.startswith("int_")
    assert first.secret_key and len(first.secret_key) >= 32
    # and when settings are read again from the same directory
    again = Settings(env="development", data_dir=tmp_path)
    again.require_secrets()
    # then they are the same ones, kept in a file only its owner reads
    assert (again.admin_key, again.integration_key, again.secret_key) == (
        first.admin_key,
        first.integration_key,
        first.secret_key,
    )
    assert oct((tmp_path / ".dev_secret_key").stat().st_mode & 0o777) == "0o600"


def test_production_names_every_missing_secret(tmp_path: Path) -> None:
    # given production with only the admin key set
    settings = Settings(env="production", data_dir=tmp_path, admin_key="a")
    # when secrets are required
    with pytest.raises(ConfigError) as caught:
        settings.require_secrets()
    # then the error names every missing one, and nothing is invented
    assert "LOYALTY_SECRET_KEY" in str(caught.value)
    assert "LOYALTY_INTEGRATION_KEY" in str(caught.value)
    assert "LOYALTY_ADMIN_KEY" not in str(caught.value)
    assert not list(tmp_path.iterdir())  # nothing invented in production


def test_a_redis_cluster_is_a_redis_cluster_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from core import redis

    # given a redis+cluster:// URL in the environment
    monkeypatch.setenv("LOYALTY_REDIS_URL", "redis+cluster://:s3cret@n1:7000")
    # when the settings are read
    url = Settings().redis_url
    # then it is a cluster, each node at a redis:// URL, and only such URLs are clusters
    assert redis.is_cluster(url) and redis.node_url(url) == "redis://:s3cret@n1:7000"
    assert not redis.is_cluster("redis://n1:6379/0")
    assert redis.node_url("rediss+cluster://n1:7000") == "rediss://n1:7000"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # given the port and data directory in the environment
    monkeypatch.setenv("LOYALTY_PORT", "9100")
    monkeypatch.setenv("LOYALTY_DATA_DIR", "/srv/loyalty")
    # when the settings are read
    settings = Settings()
    # then they come from it, the database beside the data
    assert settings.port == 9100
    assert settings.effective_database_url == "sqlite:///srv/loyalty/loyalty.sqlite3"
    # and a database URL set overrides that
    monkeypatch.setenv("LOYALTY_DATABASE_URL", "postgres://db/loyalty")
    assert Settings().effective_database_url == "postgres://db/loyalty"


@pytest.mark.parametrize(
    ("variable", "value", "named", "expected"),
    [
        ("LOYALTY_DATABASE_URL", "garbage", "'garbage'", "expected sqlite:///"),
        ("LOYALTY_DATABASE_URL", "mysql://shop:s3cret@db/loyalty", "shop:***@db", "postgres://"),
        ("LOYALTY_DATABASE_URL", "postgres://shop:s3cret@db", "shop:***@db", "names no database"),
        ("LOYALTY_REDIS_URL", "garbage", "'garbage'", "expected redis://"),
        ("LOYALTY_REDIS_URL", "localhost:6379", "'localhost:6379'", "expected redis://"),
        ("LOYALTY_REDIS_URL", "cluster://n1:7000", "'cluster://n1:7000'", "redis+cluster://"),
        ("LOYALTY_REDIS_PREFIX", "shop{1}", "'shop{1}'", "expected"),
        ("LOYALTY_PORT", "eighty", "'eighty'", "expected a whole number"),
        ("LOYALTY_PORT", "70000", "'70000'", "expected at most 65535"),
        ("LOYALTY_WORKERS", "0", "'0'", "expected at least 1"),
        ("LOYALTY_ENV", "prod", "'prod'", "expected 'development' or 'production'"),
    ],
)
def test_a_malformed_setting_is_one_line_naming_it_its_value_and_what_was_expected(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str, expected: str
) -> None:
    # given one malformed variable
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    # when the settings are read
    try:
        with pytest.raises(ConfigError) as caught:
            get_settings()
    finally:
        get_settings.cache_clear()
    # then one line names the variable, shows the value with its password masked, and
    # says what was expected
    line = str(caught.value)
    assert "\n" not in line
    assert line.startswith(f"{variable}=")
    assert named in line and expected in line
    assert "s3cret" not in line


def test_production_refuses_short_keys_without_printing_them(tmp_path: Path) -> None:
    # given 32-byte keys but one short key each time
    strong = "k" * 32
    for name in ("secret_key", "admin_key", "integration_key"):
        keys = {"secret_key": strong, "admin_key": strong, "integration_key": strong}
        keys[name] = "short-but-secret"
        # when production requires them
        settings = Settings(env="production", data_dir=tmp_path, **keys)
        with pytest.raises(ConfigError) as caught:
            settings.require_secrets()
        # then the short one is named, its length shown, never its value
        line = str(caught.value)
        assert line.startswith(f"LOYALTY_{name.upper()}='*** (16 bytes)'"), line
        assert "at least 32" in line and "short-but-secret" not in line
    # and 32 bytes are enough
    Settings(
        env="production",
        data_dir=tmp_path,
        secret_key=strong,
        admin_key=strong,
        integration_key=strong,
    ).require_secrets()


def test_workers_default_to_one_in_development_and_the_cpu_count_in_production() -> None:
    """Given no workers setting, when the workers are counted, then development runs one and
    production one per CPU; a setting wins."""
    assert Settings(env="development").effective_workers == 1
    assert Settings(env="production").effective_workers == (os.cpu_count() or 1)
    assert Settings(env="production", workers=3).effective_workers == 3


def test_urls_are_shown_without_their_password() -> None:
    """Given URLs with and without a password, when they are shown, then the password is
    masked."""
    assert (
        mask_url("postgres://shop:s3cret@db:5432/loyalty") == "postgres://shop:***@db:5432/loyalty"
    )
    assert mask_url("redis://:s3cret@cache:6379/0") == "redis://:***@cache:6379/0"
    assert mask_url("redis://cache:6379/0") == "redis://cache:6379/0"
