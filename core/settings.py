"""Service configuration: one pydantic-settings object read from LOYALTY_* variables.

A setting that cannot work is refused with a ConfigError whose text is one line naming the
variable, its value (passwords and keys masked) and what was expected; the CLI prints it
and exits with status 2. Values are checked here for their form; whether the database and
Redis answer is checked when they are first opened (server/preflight.py).
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import ConfigurationError

SECRETS = ("secret_key", "admin_key", "integration_key")
# Production keys are random tokens; anything shorter can be guessed or is a placeholder.
MIN_SECRET_BYTES = 32

DATABASE_EXPECTED = (
    "expected sqlite:///path/to/loyalty.sqlite3 or postgres://user:password@host:5432/dbname"
)
REDIS_EXPECTED = (
    "expected redis://host:6379/0, rediss://host:6380/0, unix:///path/to/redis.sock, "
    "redis+cluster://node:7000 for a Redis Cluster (or nothing, for the embedded Redis)"
)
REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster")


class ConfigError(RuntimeError):
    """Configuration that cannot run; the CLI prints it as one line and exits with 2."""

    @classmethod
    def of(cls, setting: str, value: object, problem: str) -> ConfigError:
        """`LOYALTY_X='value': problem`, the value masked as the setting requires."""
        return cls(f"{env_name(setting)}={shown(setting, value)!r}: {problem}")


def env_name(setting: str) -> str:
    return "LOYALTY_" + setting.upper()


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def shown(setting: str, value: object) -> str:
    """How a setting's value may be printed: keys never, URLs without their password."""
    text = "" if value is None else str(value)
    if setting in SECRETS:
        return f"*** ({len(text.encode())} bytes)" if text else ""
    if setting.endswith("_url"):
        return mask_url(text)
    return text


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_", extra="ignore")

    env: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Server processes on the one port; None: 1 in development, the CPU count in production.
    workers: int | None = Field(default=None, ge=1, le=256)
    data_dir: Path = Path("data")
    database_url: str = ""
    redis_url: str = ""
    # Namespaces every Redis key and channel, so programs (or test runs) can share a server.
    # No braces: keys that must share a Redis Cluster slot are tagged `{<prefix>:...}`.
    redis_prefix: str = "loyalty"
    admin_key: str | None = None
    integration_key: str | None = None
    secret_key: str | None = None
    push_webhook_url: str | None = None
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    max_subscriptions_per_connection: int = Field(default=10, ge=1)
    jobs_interval_seconds: float = Field(default=30.0, ge=0)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, url: str) -> str:
        if url:
            _database_engine(url)
        return url

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, url: str) -> str:
        if url and urlsplit(url).scheme not in REDIS_SCHEMES:
            raise ValueError(f"not a Redis URL; {REDIS_EXPECTED}")
        return url

    @field_validator("redis_prefix")
    @classmethod
    def _redis_prefix(cls, prefix: str) -> str:
        if not prefix or any(c in prefix for c in "{}*?[]\\") or any(c.isspace() for c in prefix):
            raise ValueError(
                "expected a non-empty name without braces, spaces or * ? [ ] \\ (keys are "
                "hash-tagged `{<prefix>:...}` and scanned by `<prefix>:*`)"
            )
        return prefix

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def effective_workers(self) -> int:
        if self.workers:
            return self.workers
        return (os.cpu_count() or 1) if self.production else 1

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite://{(self.data_dir / 'loyalty.sqlite3').resolve()}"

    def require_secrets(self) -> None:
        """Production refuses to start without its secrets, or with short ones; development
        invents them."""
        missing = [env_name(name) for name in SECRETS if not getattr(self, name)]
        if self.production:
            if missing:
                raise ConfigError(
                    f"missing required setting(s) in production: {', '.join(missing)}"
                )
            for name in SECRETS:
                value: str = getattr(self, name)
                if len(value.encode()) < MIN_SECRET_BYTES:
                    raise ConfigError.of(
                        name,
                        value,
                        f"too short for production; expected at least {MIN_SECRET_BYTES} "
                        "random bytes, e.g. the output of "
                        "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`",
                    )
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for name in SECRETS:
            if not getattr(self, name):
                setattr(self, name, _dev_secret(self.data_dir, name))


def _database_engine(url: str) -> str:
    """'sqlite' or 'postgres' for a URL tortoise accepts and we support; ValueError else."""
    try:
        expanded = expand_db_url(url)
    except (ConfigurationError, ValueError, KeyError):
        raise ValueError(f"not a database URL; {DATABASE_EXPECTED}") from None
    engine = str(expanded["engine"])
    if engine.endswith(".sqlite"):
        return "sqlite"
    if engine.endswith(".asyncpg"):
        if not expanded["credentials"].get("database"):
            raise ValueError(f"names no database; {DATABASE_EXPECTED}")
        return "postgres"
    raise ValueError(f"{urlsplit(url).scheme} is not supported; {DATABASE_EXPECTED}")


def explain(exc: ValidationError) -> ConfigError:
    """One line for the first invalid setting: its variable, its value and what was wanted."""
    error = exc.errors()[0]
    setting = "_".join(str(part) for part in error["loc"]) or "settings"
    context: dict[str, Any] = dict(error.get("ctx") or {})
    kind = error["type"]
    if kind == "value_error":  # our validators say what they expected
        problem = str(context.get("error") or error["msg"]).removeprefix("Value error, ")
    elif kind in _EXPECTED:
        problem = _EXPECTED[kind].format(**context)
    else:
        problem = f"invalid ({error['msg']})"
    return ConfigError.of(setting, error.get("input"), problem)


_EXPECTED = {
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "bool_parsing": "expected true or false",
    "greater_than_equal": "expected at least {ge}",
    "less_than_equal": "expected at most {le}",
    "literal_error": "expected {expected}",
    "missing": "expected a value",
}


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
    """The process's settings from the environment; ConfigError (one line) when invalid."""
    try:
        return Settings()
    except ValidationError as exc:
        raise explain(exc) from None
