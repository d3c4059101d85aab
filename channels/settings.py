"""The gateway's own configuration, read from the environment in one place (see .env.example).

Each platform reads its own variables (``<Platform>Settings.from_env`` in channels/platforms/),
with ``read_group`` below: a platform is enabled when its credentials are set, and setting only
some of them is an error that names the missing variable. Secrets are wrapped so that they never
print.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from channels.errors import ConfigError
from channels.keys import Secret

# Where the gateway keeps its databases unless told otherwise: var/ beside the package (the
# repository's var/ in a checkout, where `rights run` keeps everything it makes).
VAR_DIR = Path(__file__).resolve().parents[1] / "var"
DEFAULT_DB = VAR_DIR / "gateway.sqlite3"
DEFAULT_CASES_DB_URL = f"sqlite:///{VAR_DIR / 'cases.sqlite3'}"
G = TypeVar("G")


@dataclass(frozen=True)
class Settings:
    secret: Secret
    host: str = "127.0.0.1"
    port: int = 8080
    # The URL platforms call, as they see it (Twilio signs it; behind a proxy it differs from ours).
    public_url: str = ""
    rasa_url: str = "http://127.0.0.1:5005"
    db_path: Path = DEFAULT_DB
    max_body_bytes: int = 256 * 1024
    dedupe_days: float = 7.0
    outbox_max_age_hours: float = 24.0
    retention_days: float = 30.0
    # /healthz turns red when a message or reply has waited this long (Rasa or a platform down, a
    # worker stuck), or when a background loop has kept failing this long
    stuck_after_seconds: float = 600.0
    loop_down_after_seconds: float = 60.0
    cases_db_url: str = DEFAULT_CASES_DB_URL
    # Rasa's tracker store, so that "delete my data" and retention reach it ("" = not reachable)
    tracker_db_url: str = ""
    webchat: bool = True
    # Abuse limits (issue 12). The web chat needs no credential: token buckets per client IP and
    # per session (a burst, then so many messages a second), and caps on what may wait unanswered.
    webchat_ip_rate: float = 0.5
    webchat_ip_burst: int = 20
    webchat_session_rate: float = 0.2
    webchat_session_burst: int = 6
    webchat_max_pending: int = 100  # web chat messages waiting for Rasa, all sessions together
    webchat_session_pending: int = 3  # ... and from one session
    # Trust the last X-Forwarded-For hop as the client's IP (only behind a proxy that sets it).
    trust_proxy: bool = False
    # Sign-in: failures per account (and per IP) before a lockout that doubles each time.
    signin_free_failures: int = 5
    signin_lockout_seconds: float = 30.0
    # /metrics answers only with "Authorization: Bearer <token>"; unset: /metrics is off (404).
    metrics_token: Secret | None = None
    # The console's cookie carries Secure unless this is false (plain-http local runs).
    secure_cookies: bool = True
    # How long a worker holds a claimed message or reply before another process may take it
    # (renewed while the worker is alive), and how long SIGTERM waits for work in flight.
    lease_seconds: float = 15.0
    shutdown_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        secret = env.get("GATEWAY_SECRET", "")
        if not secret:
            raise ConfigError("set GATEWAY_SECRET (a long random string; `rights run` makes one for you)")
        if len(secret) < 16:
            raise ConfigError("GATEWAY_SECRET must be at least 16 characters")
        return cls(
            secret=Secret(secret),
            host=env.get("GATEWAY_HOST", "127.0.0.1"),
            port=_int(env, "GATEWAY_PORT", 8080),
            public_url=public_url(env),
            rasa_url=env.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/"),
            db_path=Path(env.get("GATEWAY_DB") or DEFAULT_DB),
            max_body_bytes=_int(env, "GATEWAY_MAX_BODY_BYTES", 256 * 1024),
            dedupe_days=_float(env, "GATEWAY_DEDUPE_DAYS", 7.0),
            outbox_max_age_hours=_float(env, "GATEWAY_OUTBOX_MAX_AGE_HOURS", 24.0),
            retention_days=_float(env, "RETENTION_DAYS", 30.0),
            stuck_after_seconds=_float(env, "GATEWAY_STUCK_AFTER_SECONDS", 600.0),
            loop_down_after_seconds=_float(env, "GATEWAY_LOOP_DOWN_AFTER_SECONDS", 60.0),
            cases_db_url=cases_db_url(env),
            tracker_db_url=env.get("TRACKER_DB_URL", ""),
            webchat=_bool(env, "WEBCHAT_ENABLED", True),
            webchat_ip_rate=_float(env, "WEBCHAT_IP_RATE", 0.5),
            webchat_ip_burst=_int(env, "WEBCHAT_IP_BURST", 20),
            webchat_session_rate=_float(env, "WEBCHAT_SESSION_RATE", 0.2),
            webchat_session_burst=_int(env, "WEBCHAT_SESSION_BURST", 6),
            webchat_max_pending=_int(env, "WEBCHAT_MAX_PENDING", 100),
            webchat_session_pending=_int(env, "WEBCHAT_SESSION_PENDING", 3),
            trust_proxy=_bool(env, "GATEWAY_TRUST_PROXY", False),
            signin_free_failures=_int(env, "CONSOLE_SIGNIN_FREE_FAILURES", 5),
            signin_lockout_seconds=_float(env, "CONSOLE_SIGNIN_LOCKOUT_SECONDS", 30.0),
            metrics_token=Secret(env["GATEWAY_METRICS_TOKEN"]) if env.get("GATEWAY_METRICS_TOKEN") else None,
            secure_cookies=_bool(env, "CONSOLE_SECURE_COOKIES", True),
            lease_seconds=_float(env, "GATEWAY_LEASE_SECONDS", 15.0),
            shutdown_seconds=_float(env, "GATEWAY_SHUTDOWN_SECONDS", 10.0),
        )


def public_url(env: Mapping[str, str]) -> str:
    """GATEWAY_PUBLIC_URL without a trailing slash ("" when unset)."""
    return env.get("GATEWAY_PUBLIC_URL", "").rstrip("/")


def cases_db_url(env: Mapping[str, str]) -> str:
    """CASES_DB_URL, the case store's SQLAlchemy URL (default: SQLite in var/)."""
    return env.get("CASES_DB_URL") or DEFAULT_CASES_DB_URL


def read_group(env: Mapping[str, str], kind: type[G], prefix: str, secrets: tuple[str, ...],
               plain: tuple[str, ...] = (), required_plain: tuple[str, ...] = ()) -> G | None:
    """A platform's settings from ``<PREFIX>_<NAME>`` variables, or None when none of its
    credentials is set; ``kind`` takes each name in lower case as a keyword argument."""
    required = [*secrets, *required_plain]
    present = [name for name in required if env.get(f"{prefix}_{name}")]
    if not present:
        return None
    missing = [f"{prefix}_{name}" for name in required if name not in present]
    if missing:
        raise ConfigError(f"{prefix.lower()} is half configured: set {', '.join(missing)} "
                          f"(or unset {', '.join(f'{prefix}_{n}' for n in present)} to disable it)")
    values: dict[str, object] = {name.lower(): Secret(env[f"{prefix}_{name}"]) for name in secrets}
    for name in plain:
        if env.get(f"{prefix}_{name}"):
            values[name.lower()] = env[f"{prefix}_{name}"].rstrip("/")
    return kind(**values)


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "")
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a whole number, not {raw!r}") from None


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key, "")
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a number, not {raw!r}") from None


def _bool(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{key} must be true or false, not {raw!r}")
