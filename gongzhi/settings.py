"""Settings, from environment variables or a settings file only (each documented in the README).

``GONGZHI_SETTINGS_FILE`` names a file of ``NAME=value`` lines (``#`` comments, blank lines,
optional quotes); a variable set in the environment wins over the file. Secrets (JWT secret, data
keys, index key, passwords in database URLs, Redis URL credentials) are never part of ``repr`` or
of what the server logs: ``Settings.redacted()`` is what may be shown."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SQLITE = f"sqlite+aiosqlite:///{ROOT / 'var' / 'gongzhi.db'}"
# Development only: the demo signs and verifies tokens with this secret unless one is configured.
DEMO_JWT_SECRET = "gongzhi-demo-secret-not-for-production-use-0123456789"


SECRET_FIELDS = frozenset({"jwt_secret", "data_keys", "index_key"})
URL_FIELDS = frozenset({"database_url", "migration_database_url", "listen_database_url", "redis_url"})
_URL_PASSWORD = re.compile(r"^([a-z0-9+]+://[^:/@]*:)([^@]*)(@)", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``scheme://user:***@host/db``: the password never leaves the process."""
    return _URL_PASSWORD.sub(r"\1***\3", url)


def read_settings_file(path: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if line.startswith("export "):
            name = name[len("export "):].strip()
        if not sep or (not name.startswith("GONGZHI_") and not name.startswith("OTEL_")):
            raise ValueError(f"{path}:{lineno}: expected GONGZHI_NAME=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    return default if raw is None else raw.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_SQLITE
    migration_database_url: str | None = None
    app_db_role: str = "gongzhi_app"
    jwt_secret: str | None = None
    jwt_public_key_file: str | None = None
    jwt_jwks_file: str | None = None
    jwt_issuer: str = "gongzhi"
    jwt_audience: str = "gongzhi"
    graphiql: bool = False
    introspection: bool = False
    demo: bool = False
    max_body_bytes: int = 1_000_000
    pool_size: int = 10
    upload_dir: str = str(ROOT / "var" / "uploads")
    max_upload_bytes: int = 5 * 1024 * 1024
    # Seconds between runs of the job that closes resolved cases left without feedback (0: off).
    autoclose_interval: int = 600
    # Requests per user (or partner client) and tenant per minute; 0 turns the limit off.
    rate_limit_per_minute: int = 600
    redis_url: str | None = None
    redis_prefix: str = "gongzhi:rl:"
    # Persisted queries: a JSON file {sha256: document}; with persisted_only, nothing else runs.
    persisted_queries_file: str | None = None
    persisted_only: bool = False
    # Keys sealing personal data at rest (models/sealing.py); development keys when unset.
    data_keys: str | None = None
    index_key: str | None = None
    # Compiled reads (issue #9, schema/compiled.py): on PostgreSQL, a query the compiler knows is
    # answered by one SQL statement; off, every query runs through strawberry's resolvers.
    compiled_reads: bool = True
    # Operations (issue #10).
    # LISTEN/NOTIFY needs a session of its own: behind pgbouncer in transaction mode, point this at
    # PostgreSQL directly (default: database_url).
    listen_database_url: str | None = None
    # The app's URL goes through pgbouncer (transaction mode): no asyncpg statement cache, unique
    # prepared-statement names (SQLAlchemy's recipe).
    db_pgbouncer: bool = False
    db_max_overflow: int = 10
    log_format: str = "json"
    log_level: str = "info"
    metrics: bool = True
    # Seconds a stopping process waits for in-flight requests and subscriptions (SIGTERM).
    shutdown_timeout: int = 30
    # Tenant management for platform administrators at /platform/graphql (needs the owner's URL).
    platform_api: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def owner_url(self) -> str:
        return self.migration_database_url or self.database_url

    @property
    def listen_url(self) -> str:
        return self.listen_database_url or self.database_url

    def redacted(self) -> dict[str, object]:
        """Every setting, secrets replaced: safe to log."""
        out: dict[str, object] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name in SECRET_FIELDS and value:
                value = "***"
            elif name in URL_FIELDS and isinstance(value, str):
                value = redact_url(value)
            elif name == "extra":
                continue
            out[name] = value
        return out

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in self.redacted().items()) + ")"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env: dict[str, str] = dict(os.environ if environ is None else environ)
        if env.get("GONGZHI_SETTINGS_FILE"):
            env = {**read_settings_file(env["GONGZHI_SETTINGS_FILE"]), **env}
        demo = _bool(env, "GONGZHI_DEMO", False)
        secret = env.get("GONGZHI_JWT_SECRET") or None
        pub = env.get("GONGZHI_JWT_PUBLIC_KEY_FILE") or None
        jwks = env.get("GONGZHI_JWT_JWKS_FILE") or None
        if demo and not (secret or pub or jwks):
            secret = DEMO_JWT_SECRET
        return cls(
            database_url=env.get("GONGZHI_DATABASE_URL", DEFAULT_SQLITE),
            migration_database_url=env.get("GONGZHI_MIGRATION_DATABASE_URL") or None,
            app_db_role=env.get("GONGZHI_APP_DB_ROLE", "gongzhi_app"),
            jwt_secret=secret,
            jwt_public_key_file=pub,
            jwt_jwks_file=jwks,
            jwt_issuer=env.get("GONGZHI_JWT_ISSUER", "gongzhi"),
            jwt_audience=env.get("GONGZHI_JWT_AUDIENCE", "gongzhi"),
            graphiql=_bool(env, "GONGZHI_GRAPHIQL", demo),
            introspection=_bool(env, "GONGZHI_INTROSPECTION", demo),
            demo=demo,
            max_body_bytes=int(env.get("GONGZHI_MAX_BODY_BYTES", "1000000")),
            pool_size=int(env.get("GONGZHI_DB_POOL_SIZE", "10")),
            upload_dir=env.get("GONGZHI_UPLOAD_DIR", str(ROOT / "var" / "uploads")),
            max_upload_bytes=int(env.get("GONGZHI_MAX_UPLOAD_BYTES", str(5 * 1024 * 1024))),
            autoclose_interval=int(env.get("GONGZHI_AUTOCLOSE_INTERVAL", "600")),
            rate_limit_per_minute=int(env.get("GONGZHI_RATE_LIMIT_PER_MINUTE", "600")),
            redis_url=env.get("GONGZHI_REDIS_URL") or None,
            persisted_queries_file=env.get("GONGZHI_PERSISTED_QUERIES") or None,
            persisted_only=_bool(env, "GONGZHI_PERSISTED_ONLY", False),
            data_keys=env.get("GONGZHI_DATA_KEYS") or None,
            index_key=env.get("GONGZHI_INDEX_KEY") or None,
            listen_database_url=env.get("GONGZHI_LISTEN_DATABASE_URL") or None,
            db_pgbouncer=_bool(env, "GONGZHI_DB_PGBOUNCER", False),
            db_max_overflow=int(env.get("GONGZHI_DB_MAX_OVERFLOW", "10")),
            log_format=env.get("GONGZHI_LOG_FORMAT", "json"),
            log_level=env.get("GONGZHI_LOG_LEVEL", "info"),
            metrics=_bool(env, "GONGZHI_METRICS", True),
            shutdown_timeout=int(env.get("GONGZHI_SHUTDOWN_TIMEOUT", "30")),
            platform_api=_bool(env, "GONGZHI_PLATFORM_API", False),
            compiled_reads=_bool(env, "GONGZHI_COMPILED_READS", True),
        )
