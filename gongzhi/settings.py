"""Settings, from environment variables or a settings file only (each documented in the README).

Built on pydantic-settings: each field names its variable (``validation_alias``), pydantic turns
the text into the field's type, and a value it cannot take is refused with the variable's name
(``SettingsError``). On/off settings take ``1/true/yes/on`` and ``0/false/no/off`` (any case).

``Settings.from_env()`` reads the environment and ``GONGZHI_SETTINGS_FILE``, a file of
``NAME=value`` lines (``#`` comments, blank lines, optional quotes, optional ``export``): a variable
set in the environment wins over the file, the file over the defaults. ``Settings(name=value, …)``
is its arguments over the defaults and reads neither, so a test's settings do not depend on the
shell it runs in.

Secrets (JWT secret, data keys, index key, photo URL key, passwords in database URLs, Redis URL credentials) are
never part of ``repr``/``str`` or of what the server logs: ``Settings.redacted()`` is what may be
shown."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SQLITE = f"sqlite+aiosqlite:///{ROOT / 'var' / 'gongzhi.db'}"
# Development only: the demo signs and verifies tokens with this secret unless one is configured.
DEMO_JWT_SECRET = "gongzhi-demo-secret-not-for-production-use-0123456789"


SECRET_FIELDS = frozenset({"jwt_secret", "data_keys", "index_key", "photo_url_key"})
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


class SettingsError(ValueError):
    """A setting's value the app cannot use; the message names the variable and where it was set."""


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})  # set but empty was always off


def _flag(value: object) -> object:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError("应为 1/true/yes/on 或 0/false/no/off")
    return value


def _empty_is_unset(value: object) -> object:
    return None if value == "" else value


def _origin(value: object) -> object:
    """An http(s) origin (and optional path prefix), without its trailing slash; empty is unset."""
    if isinstance(value, str):
        value = value.strip().rstrip("/")
        if not value:
            return None
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError("应为 http(s):// 开头的地址，如 https://api.example.org")
    return value


Flag = Annotated[bool, BeforeValidator(_flag)]
Origin = Annotated[str | None, BeforeValidator(_origin)]
OptionalText = Annotated[str | None, BeforeValidator(_empty_is_unset)]


# What Settings.from_env reads for the construction under way: (environment, settings file).
_READING: ContextVar[tuple[Mapping[str, str], Mapping[str, str]] | None] = ContextVar("_READING", default=None)


class _Variables(PydanticBaseSettingsSource):
    """The fields' variables found in one mapping: the environment, or the settings file's lines.
    A field without a variable (``redis_prefix``) is set by keyword only."""

    def __init__(self, settings_cls: type[BaseSettings], values: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        name = field.validation_alias
        return (self._values.get(name) if isinstance(name, str) else None), field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, field_name)
            if value is not None:
                found[key] = value
        return found


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True)

    database_url: str = Field(DEFAULT_SQLITE, validation_alias="GONGZHI_DATABASE_URL")
    migration_database_url: OptionalText = Field(None, validation_alias="GONGZHI_MIGRATION_DATABASE_URL")
    app_db_role: str = Field("gongzhi_app", validation_alias="GONGZHI_APP_DB_ROLE")
    # With GONGZHI_DEMO=1 and no key configured, from_env fills in DEMO_JWT_SECRET.
    jwt_secret: OptionalText = Field(None, validation_alias="GONGZHI_JWT_SECRET")
    jwt_public_key_file: OptionalText = Field(None, validation_alias="GONGZHI_JWT_PUBLIC_KEY_FILE")
    jwt_jwks_file: OptionalText = Field(None, validation_alias="GONGZHI_JWT_JWKS_FILE")
    jwt_issuer: str = Field("gongzhi", validation_alias="GONGZHI_JWT_ISSUER")
    jwt_audience: str = Field("gongzhi", validation_alias="GONGZHI_JWT_AUDIENCE")
    # from_env: on with GONGZHI_DEMO=1 unless set.
    graphiql: Flag = Field(False, validation_alias="GONGZHI_GRAPHIQL")
    introspection: Flag = Field(False, validation_alias="GONGZHI_INTROSPECTION")
    demo: Flag = Field(False, validation_alias="GONGZHI_DEMO")
    max_body_bytes: int = Field(1_000_000, validation_alias="GONGZHI_MAX_BODY_BYTES")
    pool_size: int = Field(10, validation_alias="GONGZHI_DB_POOL_SIZE")
    upload_dir: str = Field(str(ROOT / "var" / "uploads"), validation_alias="GONGZHI_UPLOAD_DIR")
    max_upload_bytes: int = Field(5 * 1024 * 1024, validation_alias="GONGZHI_MAX_UPLOAD_BYTES")
    # Photo links (issue #25): seconds a signed photo URL works (at most; at least half of it), the
    # key that signs them (default: derived from the JWT secret, else from the data keys), and the
    # public origin for absolute URLs ("https://api.example.org"; unset: URLs are paths).
    photo_url_ttl: int = Field(600, ge=10, le=86_400, validation_alias="GONGZHI_PHOTO_URL_TTL")
    photo_url_key: OptionalText = Field(None, validation_alias="GONGZHI_PHOTO_URL_KEY")
    public_url: Origin = Field(None, validation_alias="GONGZHI_PUBLIC_URL")
    # Seconds between runs of the job that closes resolved cases left without feedback (0: off).
    autoclose_interval: int = Field(600, validation_alias="GONGZHI_AUTOCLOSE_INTERVAL")
    # Requests per user (or partner client) and tenant per minute; 0 turns the limit off.
    rate_limit_per_minute: int = Field(600, validation_alias="GONGZHI_RATE_LIMIT_PER_MINUTE")
    redis_url: OptionalText = Field(None, validation_alias="GONGZHI_REDIS_URL")
    redis_prefix: str = "gongzhi:rl:"
    # Milliseconds the rate limiter waits for Redis per round trip before counting in-process.
    redis_timeout_ms: int = Field(300, ge=10, le=10_000, validation_alias="GONGZHI_REDIS_TIMEOUT_MS")
    # Persisted queries: a JSON file {sha256: document}; with persisted_only, nothing else runs.
    persisted_queries_file: OptionalText = Field(None, validation_alias="GONGZHI_PERSISTED_QUERIES")
    persisted_only: Flag = Field(False, validation_alias="GONGZHI_PERSISTED_ONLY")
    # GET runs persisted queries only (issue #24): a document in a URL is one no client of ours sends.
    # On, a GET may carry any query (never a mutation). from_env: on with GONGZHI_DEMO=1 unless set,
    # for the explorer and the graphql-http audit.
    adhoc_get: Flag = Field(False, validation_alias="GONGZHI_ADHOC_GET")
    # Keys sealing personal data at rest (models/sealing.py); development keys when unset.
    data_keys: OptionalText = Field(None, validation_alias="GONGZHI_DATA_KEYS")
    index_key: OptionalText = Field(None, validation_alias="GONGZHI_INDEX_KEY")
    # Compiled reads (issue #9, compiled/): on PostgreSQL, a query the compiler knows is
    # answered by one SQL statement; off, every query runs through strawberry's resolvers.
    compiled_reads: Flag = Field(True, validation_alias="GONGZHI_COMPILED_READS")
    # Operations (issue #10).
    # LISTEN/NOTIFY needs a session of its own: behind pgbouncer in transaction mode, point this at
    # PostgreSQL directly (default: database_url).
    listen_database_url: OptionalText = Field(None, validation_alias="GONGZHI_LISTEN_DATABASE_URL")
    # The app's URL goes through pgbouncer (transaction mode): no asyncpg statement cache, unique
    # prepared-statement names (SQLAlchemy's recipe).
    db_pgbouncer: Flag = Field(False, validation_alias="GONGZHI_DB_PGBOUNCER")
    db_max_overflow: int = Field(10, validation_alias="GONGZHI_DB_MAX_OVERFLOW")
    # BEGIN with the first statement, COMMIT with the last, NOTIFY after COMMIT in its round trip (issue #21,
    # tenants/wire.py): only on the asyncpg release they were tested on; off, asyncpg's own path for all.
    db_wire_shortcuts: Flag = Field(True, validation_alias="GONGZHI_DB_WIRE_SHORTCUTS")
    # Check each pooled connection before use with a ping (one round trip per request). Off, a connection
    # the server closed is still replaced before use, at no cost (issue #26, tenants/session.py).
    db_pre_ping: Flag = Field(False, validation_alias="GONGZHI_DB_PRE_PING")
    # Issue #26, PostgreSQL: limits of every request's transaction, set in its first statement (0: none).
    # A statement that runs longer (e.g. waiting for a lock) is cancelled: 503 SERVICE_UNAVAILABLE.
    db_statement_timeout_ms: int = Field(5000, ge=0, validation_alias="GONGZHI_DB_STATEMENT_TIMEOUT_MS")
    db_lock_timeout_ms: int = Field(0, ge=0, validation_alias="GONGZHI_DB_LOCK_TIMEOUT_MS")
    # Issue #21: the planner's cost of a page read out of order, set in the same first statement (0: the
    # server's own). PostgreSQL's default (4) prices a disk's seek; the tables the app reads stay in memory, and
    # with 4 the planner scans a small table whole once per row of a page (a households page's buildings, a
    # persons page's care tags) rather than look each row up by its key (bench/RESULTS.md h-reg, fifth session).
    # 1.5, not lower: at 1.1 the audit log's count went by an index-only scan, slower on a table not vacuumed.
    db_random_page_cost: float = Field(1.5, ge=0, validation_alias="GONGZHI_DB_RANDOM_PAGE_COST")
    # Seconds to open a new database connection before the request is answered 503.
    db_connect_timeout: int = Field(5, ge=1, validation_alias="GONGZHI_DB_CONNECT_TIMEOUT")
    log_format: str = Field("json", validation_alias="GONGZHI_LOG_FORMAT")
    log_level: str = Field("info", validation_alias="GONGZHI_LOG_LEVEL")
    metrics: Flag = Field(True, validation_alias="GONGZHI_METRICS")
    # Seconds a stopping process waits for in-flight requests and subscriptions (SIGTERM).
    shutdown_timeout: int = Field(30, validation_alias="GONGZHI_SHUTDOWN_TIMEOUT")
    # Seconds a client has to send a request's line and headers (gongzhi serve; 0: no limit), and
    # to send its body once the headers are in (408 REQUEST_TIMEOUT after either).
    http_header_timeout: float = Field(10.0, ge=0, validation_alias="GONGZHI_HTTP_HEADER_TIMEOUT")
    http_body_timeout: float = Field(30.0, ge=0, validation_alias="GONGZHI_HTTP_BODY_TIMEOUT")
    # Days the audit log is kept before `gongzhi audit purge` may delete (archived) rows: 180 at least.
    audit_retention_days: int = Field(180, ge=180, validation_alias="GONGZHI_AUDIT_RETENTION_DAYS")
    # Tenant management for platform administrators at /platform/graphql (needs the owner's URL).
    platform_api: Flag = Field(False, validation_alias="GONGZHI_PLATFORM_API")

    @property
    def owner_url(self) -> str:
        return self.migration_database_url or self.database_url

    @property
    def listen_url(self) -> str:
        return self.listen_database_url or self.database_url

    def redacted(self) -> dict[str, object]:
        """Every setting, secrets replaced: safe to log."""
        out: dict[str, object] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in SECRET_FIELDS and value:
                value = "***"
            elif name in URL_FIELDS and isinstance(value, str):
                value = redact_url(value)
            out[name] = value
        return out

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # repr(), str() and rich/devtools all render from this: the redacted values only.
        yield from self.redacted().items()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        reading = _READING.get()
        if reading is None:  # Settings(...): the arguments and the defaults, nothing else
            return (init_settings,)
        environ, from_file = reading
        return init_settings, _Variables(settings_cls, environ), _Variables(settings_cls, from_file)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        path = env.get("GONGZHI_SETTINGS_FILE") or None
        from_file = read_settings_file(path) if path else {}
        token = _READING.set((env, from_file))
        try:
            settings = cls()
        except ValidationError as e:
            raise SettingsError(_explain(e, env, path)) from None
        finally:
            _READING.reset(token)
        # The demo runs without configuration: GraphiQL, introspection and ad-hoc GET on unless set,
        # and the demo secret when no key is configured (never without GONGZHI_DEMO).
        demo: dict[str, object] = {}
        if settings.demo:
            demo = {name: True for name in ("graphiql", "introspection", "adhoc_get")
                    if name not in settings.model_fields_set}
            if not (settings.jwt_secret or settings.jwt_public_key_file or settings.jwt_jwks_file):
                demo["jwt_secret"] = DEMO_JWT_SECRET
        return settings.model_copy(update=demo) if demo else settings


_REASONS = {"int_parsing": "应为整数", "int_from_float": "应为整数"}
_BOUNDS = {"greater_than_equal": "不能小于 {}", "less_than_equal": "不能大于 {}", "greater_than": "应大于 {}",
           "less_than": "应小于 {}"}


def _explain(error: ValidationError, environ: Mapping[str, str], path: str | None) -> str:
    """One line per refused variable, in Chinese: the variable, why, the value (never a secret's),
    and whether the environment or the settings file set it."""
    lines = ["设置有误："]
    for err in error.errors():
        field = str(err["loc"][0]) if err["loc"] else ""
        info = Settings.model_fields.get(field)
        name = info.validation_alias if info is not None and isinstance(info.validation_alias, str) else field
        ctx = err.get("ctx", {})
        reason = _REASONS.get(err["type"]) or (str(ctx["error"]) if "error" in ctx else err["msg"])
        if err["type"] in _BOUNDS:
            reason = _BOUNDS[err["type"]].format(*ctx.values())
        shown = "" if field in SECRET_FIELDS | URL_FIELDS else f"，当前值 {err['input']!r}"
        origin = "环境变量" if name in environ or path is None else f"设置文件 {path}"
        lines.append(f"  {name}：{reason}{shown}（来自{origin}）")
    return "\n".join(lines)
