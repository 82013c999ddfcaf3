"""Settings: development invents and keeps its secrets; production demands them."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import ConfigError, Settings


def test_development_invents_secrets_once_and_keeps_them(tmp_path: Path) -> None:
    first = Settings(env="development", data_dir=tmp_path)
    first.require_secrets()
    assert first.admin_key and first.admin_key.startswith("adm_")
    assert first.integration_key and first.integration_key.startswith("int_")
    assert first.secret_key and len(first.secret_key) >= 32
    again = Settings(env="development", data_dir=tmp_path)
    again.require_secrets()
    assert (again.admin_key, again.integration_key, again.secret_key) == (
        first.admin_key,
        first.integration_key,
        first.secret_key,
    )
    assert oct((tmp_path / ".dev_secret_key").stat().st_mode & 0o777) == "0o600"


def test_production_names_every_missing_secret(tmp_path: Path) -> None:
    settings = Settings(env="production", data_dir=tmp_path, admin_key="a")
    with pytest.raises(ConfigError) as caught:
        settings.require_secrets()
    assert "LOYALTY_SECRET_KEY" in str(caught.value)
    assert "LOYALTY_INTEGRATION_KEY" in str(caught.value)
    assert "LOYALTY_ADMIN_KEY" not in str(caught.value)
    assert not list(tmp_path.iterdir())  # nothing invented in production


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOYALTY_PORT", "9100")
    monkeypatch.setenv("LOYALTY_DATA_DIR", "/srv/loyalty")
    settings = Settings()
    assert settings.port == 9100
    assert settings.effective_database_url == "sqlite:///srv/loyalty/loyalty.sqlite3"
    monkeypatch.setenv("LOYALTY_DATABASE_URL", "postgres://db/loyalty")
    assert Settings().effective_database_url == "postgres://db/loyalty"
