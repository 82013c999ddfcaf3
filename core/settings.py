"""Service configuration: one pydantic-settings object read from LOYALTY_* variables."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(RuntimeError):
    """Configuration that cannot run; the CLI prints it as one line and exits."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_", extra="ignore")

    env: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("data")
    database_url: str = ""
    redis_url: str = ""
    # Namespaces every Redis key and channel, so programs (or test runs) can share a server.
    redis_prefix: str = "loyalty"
    admin_key: str | None = None
    integration_key: str | None = None
    secret_key: str | None = None
    push_webhook_url: str | None = None
    max_body_bytes: int = 256 * 1024
    max_subscriptions_per_connection: int = 10
    jobs_interval_seconds: float = Field(default=30.0, ge=0)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite://{(self.data_dir / 'loyalty.sqlite3').resolve()}"

    def require_secrets(self) -> None:
        """Production refuses to start without its secrets; development invents them."""
        missing = [
            f"LOYALTY_{name.upper()}"
            for name in ("secret_key", "admin_key", "integration_key")
            if not getattr(self, name)
        ]
        if self.production:
            if missing:
                raise ConfigError(
                    f"missing required setting(s) in production: {', '.join(missing)}"
                )
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for name in ("secret_key", "admin_key", "integration_key"):
            if not getattr(self, name):
                setattr(self, name, _dev_secret(self.data_dir, name))


def _dev_secret(data_dir: Path, name: str) -> str:
    """A development secret kept under the data dir, so restarts keep keys and tokens valid."""
    path = data_dir / f".dev_{name}"
    if path.exists():
        return path.read_text().strip()
    value = ("adm_" if name == "admin_key" else "int_" if name == "integration_key" else "") + (
        secrets.token_urlsafe(24)
    )
    path.write_text(value)
    path.chmod(0o600)
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
