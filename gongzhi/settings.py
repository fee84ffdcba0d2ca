"""Settings, from environment variables only (each documented in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SQLITE = f"sqlite+aiosqlite:///{ROOT / 'var' / 'gongzhi.db'}"
# Development only: the demo signs and verifies tokens with this secret unless one is configured.
DEMO_JWT_SECRET = "gongzhi-demo-secret-not-for-production-use-0123456789"


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
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
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def owner_url(self) -> str:
        return self.migration_database_url or self.database_url

    @classmethod
    def from_env(cls) -> Settings:
        demo = _bool("GONGZHI_DEMO", False)
        secret = os.environ.get("GONGZHI_JWT_SECRET") or None
        pub = os.environ.get("GONGZHI_JWT_PUBLIC_KEY_FILE") or None
        jwks = os.environ.get("GONGZHI_JWT_JWKS_FILE") or None
        if demo and not (secret or pub or jwks):
            secret = DEMO_JWT_SECRET
        return cls(
            database_url=os.environ.get("GONGZHI_DATABASE_URL", DEFAULT_SQLITE),
            migration_database_url=os.environ.get("GONGZHI_MIGRATION_DATABASE_URL") or None,
            app_db_role=os.environ.get("GONGZHI_APP_DB_ROLE", "gongzhi_app"),
            jwt_secret=secret,
            jwt_public_key_file=pub,
            jwt_jwks_file=jwks,
            jwt_issuer=os.environ.get("GONGZHI_JWT_ISSUER", "gongzhi"),
            jwt_audience=os.environ.get("GONGZHI_JWT_AUDIENCE", "gongzhi"),
            graphiql=_bool("GONGZHI_GRAPHIQL", demo),
            introspection=_bool("GONGZHI_INTROSPECTION", demo),
            demo=demo,
            max_body_bytes=int(os.environ.get("GONGZHI_MAX_BODY_BYTES", "1000000")),
            pool_size=int(os.environ.get("GONGZHI_DB_POOL_SIZE", "10")),
            upload_dir=os.environ.get("GONGZHI_UPLOAD_DIR", str(ROOT / "var" / "uploads")),
            max_upload_bytes=int(os.environ.get("GONGZHI_MAX_UPLOAD_BYTES", str(5 * 1024 * 1024))),
            autoclose_interval=int(os.environ.get("GONGZHI_AUTOCLOSE_INTERVAL", "600")),
            rate_limit_per_minute=int(os.environ.get("GONGZHI_RATE_LIMIT_PER_MINUTE", "600")),
            redis_url=os.environ.get("GONGZHI_REDIS_URL") or None,
            persisted_queries_file=os.environ.get("GONGZHI_PERSISTED_QUERIES") or None,
            persisted_only=_bool("GONGZHI_PERSISTED_ONLY", False),
            data_keys=os.environ.get("GONGZHI_DATA_KEYS") or None,
            index_key=os.environ.get("GONGZHI_INDEX_KEY") or None,
            compiled_reads=_bool("GONGZHI_COMPILED_READS", True),
        )
