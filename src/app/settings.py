"""One typed settings object, read from the environment. The defaults are the embedded mode."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Literal

DEFAULT_DATABASE_URL = "sqlite://segments.sqlite3"


class SettingsError(ValueError):
    """A setting has a value the service cannot run with."""


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, not {raw!r}") from None


def _time_of_day(env: Mapping[str, str], name: str, default: time) -> time:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        hours, minutes = raw.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise SettingsError(f"{name} must be a UTC time of day as HH:MM, not {raw!r}") from None


def _positive(name: str, value: int) -> int:
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, not {value}")
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    environment: Literal["development", "production"] = "development"
    graphiql: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    statement_timeout_ms: int = 10_000
    # PostgreSQL connections each process may open (API processes, workers, commands).
    db_pool_size: int = 10
    log_level: str = "INFO"
    # The nightly run (flags, then counts and history) of every account, at this UTC time.
    nightly_at: time = time(3, 0)
    # How often the counts marked stale are refreshed (and jobs never handed over are sent).
    sweep_every_s: int = 300
    # The embedded mode runs the schedule in the API process; off, only `segments recompute`
    # (or beat, with Redis) runs it.
    schedule: bool = True
    # The per-account lock of a nightly run expires this long after its last extension.
    lock_ttl_s: int = 60
    # Redis hands an unacknowledged task to another worker after this long.
    visibility_timeout_s: int = 3600
    # Shifts the clock of every "now" (app.clock); for rehearsals and tests.
    clock_offset_s: int = 0
    # Membership changes are kept this long (the nightly run trims older ones and old
    # webhook deliveries); snapshots expire this long after they are taken.
    changes_retention_days: int = 90
    snapshot_retention_days: int = 30
    # Webhook URLs may reach private, loopback and link-local addresses (development, tests).
    webhooks_allow_private: bool = False
    # One delivery attempt's limit; the first retry's delay (doubling, jittered); how long a
    # delivery is retried before it is FAILED.
    webhook_timeout_s: int = 10
    webhook_retry_base_s: int = 30
    webhook_retry_for_s: int = 86_400

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def task_mode(self) -> Literal["inprocess", "celery"]:
        """Without Redis, background work runs in the API process (the embedded mode)."""
        return "celery" if self.redis_url else "inprocess"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        database_url = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        if not database_url.startswith(("sqlite://", "postgres://", "postgresql://")):
            raise SettingsError(
                "DATABASE_URL must start with sqlite://, postgres:// or postgresql://"
            )
        environment = env.get("SEGMENTS_ENV", "development")
        if environment not in ("development", "production"):
            raise SettingsError(
                f"SEGMENTS_ENV must be development or production, not {environment!r}"
            )
        lock_ttl_s = _positive("SEGMENTS_LOCK_TTL_S", _int(env, "SEGMENTS_LOCK_TTL_S", 60))
        visibility = _positive(
            "SEGMENTS_VISIBILITY_TIMEOUT_S", _int(env, "SEGMENTS_VISIBILITY_TIMEOUT_S", 3600)
        )
        if lock_ttl_s >= visibility:
            # A crashed run's task comes back after the visibility timeout; its lock must
            # have expired by then, or the redelivered run would skip itself.
            raise SettingsError(
                "SEGMENTS_LOCK_TTL_S must be shorter than SEGMENTS_VISIBILITY_TIMEOUT_S"
            )
        return cls(
            database_url=database_url,
            redis_url=env.get("REDIS_URL") or None,
            environment=environment,  # type: ignore[arg-type]
            graphiql=_flag(env, "SEGMENTS_GRAPHIQL", environment == "development"),
            host=env.get("SEGMENTS_HOST", "127.0.0.1"),
            port=_int(env, "SEGMENTS_PORT", 8000),
            statement_timeout_ms=_int(env, "SEGMENTS_STATEMENT_TIMEOUT_MS", 10_000),
            db_pool_size=_positive("SEGMENTS_DB_POOL_SIZE", _int(env, "SEGMENTS_DB_POOL_SIZE", 10)),
            log_level=env.get("SEGMENTS_LOG_LEVEL", "INFO").upper(),
            nightly_at=_time_of_day(env, "SEGMENTS_NIGHTLY_AT", time(3, 0)),
            sweep_every_s=_positive(
                "SEGMENTS_SWEEP_EVERY_S", _int(env, "SEGMENTS_SWEEP_EVERY_S", 300)
            ),
            schedule=_flag(env, "SEGMENTS_SCHEDULE", True),
            lock_ttl_s=lock_ttl_s,
            visibility_timeout_s=visibility,
            clock_offset_s=_int(env, "SEGMENTS_CLOCK_OFFSET_S", 0),
            changes_retention_days=_positive(
                "SEGMENTS_CHANGES_RETENTION_DAYS", _int(env, "SEGMENTS_CHANGES_RETENTION_DAYS", 90)
            ),
            snapshot_retention_days=_positive(
                "SEGMENTS_SNAPSHOT_RETENTION_DAYS",
                _int(env, "SEGMENTS_SNAPSHOT_RETENTION_DAYS", 30),
            ),
            webhooks_allow_private=_flag(env, "SEGMENTS_WEBHOOKS_ALLOW_PRIVATE", False),
            webhook_timeout_s=_positive(
                "SEGMENTS_WEBHOOK_TIMEOUT_S", _int(env, "SEGMENTS_WEBHOOK_TIMEOUT_S", 10)
            ),
            webhook_retry_base_s=_positive(
                "SEGMENTS_WEBHOOK_RETRY_BASE_S", _int(env, "SEGMENTS_WEBHOOK_RETRY_BASE_S", 30)
            ),
            webhook_retry_for_s=_positive(
                "SEGMENTS_WEBHOOK_RETRY_FOR_S", _int(env, "SEGMENTS_WEBHOOK_RETRY_FOR_S", 86_400)
            ),
        )


_current: Settings | None = None


def use(settings: Settings) -> None:
    """Install the settings services read at run time (`app.boot.configure` calls it)."""
    global _current
    _current = settings


def current() -> Settings:
    """The settings this process was configured with (the environment's, before that)."""
    global _current
    if _current is None:
        _current = Settings.from_env()
    return _current
