"""Settings (issue #20): every GONGZHI_ variable is read under its name from the environment and from
GONGZHI_SETTINGS_FILE (the environment wins), the defaults are the ones the hand-written parser had,
a bad value is refused naming its variable, and ``Settings(...)`` reads nothing but its arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from gongzhi.settings import DEMO_JWT_SECRET, Settings
from tests.support.paths import ROOT

# Taken from gongzhi/settings.py before it moved to pydantic-settings (the dataclass defaults).
OLD_DEFAULTS: dict[str, Any] = {
    "database_url": f"sqlite+aiosqlite:///{ROOT / 'var' / 'gongzhi.db'}",
    "migration_database_url": None,
    "app_db_role": "gongzhi_app",
    "jwt_secret": None,
    "jwt_public_key_file": None,
    "jwt_jwks_file": None,
    "jwt_issuer": "gongzhi",
    "jwt_audience": "gongzhi",
    "graphiql": False,
    "introspection": False,
    "demo": False,
    "max_body_bytes": 1_000_000,
    "pool_size": 10,
    "upload_dir": str(ROOT / "var" / "uploads"),
    "max_upload_bytes": 5 * 1024 * 1024,
    "photo_url_ttl": 600,  # issue #25: photo links
    "photo_url_key": None,
    "public_url": None,
    "autoclose_interval": 600,
    "rate_limit_per_minute": 600,
    "redis_url": None,
    "redis_prefix": "gongzhi:rl:",
    "redis_timeout_ms": 300,
    "persisted_queries_file": None,
    "persisted_only": False,
    "data_keys": None,
    "index_key": None,
    "compiled_reads": True,
    "listen_database_url": None,
    "db_pgbouncer": False,
    "db_max_overflow": 10,
    "db_wire_shortcuts": True,
    "db_pre_ping": False,
    # issue #26
    "db_statement_timeout_ms": 5000,
    "db_lock_timeout_ms": 0,
    "db_random_page_cost": 1.5,
    "db_connect_timeout": 5,
    "log_format": "json",
    "log_level": "info",
    "metrics": True,
    "shutdown_timeout": 30,
    "http_header_timeout": 10.0,
    "http_body_timeout": 30.0,
    "platform_api": False,
    # issue #24
    "audit_retention_days": 180,
    "adhoc_get": False,
}

# field: (variable, a value to set, what the field then holds), from the old from_env.
VARIABLES: dict[str, tuple[str, str, Any]] = {
    "database_url": ("GONGZHI_DATABASE_URL", "postgresql+asyncpg://app@db/g", "postgresql+asyncpg://app@db/g"),
    "migration_database_url": ("GONGZHI_MIGRATION_DATABASE_URL", "postgresql+asyncpg://owner@db/g",
                               "postgresql+asyncpg://owner@db/g"),
    "app_db_role": ("GONGZHI_APP_DB_ROLE", "app_role", "app_role"),
    "jwt_secret": ("GONGZHI_JWT_SECRET", "a-secret", "a-secret"),
    "jwt_public_key_file": ("GONGZHI_JWT_PUBLIC_KEY_FILE", "/keys/pub.pem", "/keys/pub.pem"),
    "jwt_jwks_file": ("GONGZHI_JWT_JWKS_FILE", "/keys/jwks.json", "/keys/jwks.json"),
    "jwt_issuer": ("GONGZHI_JWT_ISSUER", "issuer-x", "issuer-x"),
    "jwt_audience": ("GONGZHI_JWT_AUDIENCE", "audience-x", "audience-x"),
    "graphiql": ("GONGZHI_GRAPHIQL", "1", True),
    "introspection": ("GONGZHI_INTROSPECTION", "true", True),
    "demo": ("GONGZHI_DEMO", "yes", True),
    "max_body_bytes": ("GONGZHI_MAX_BODY_BYTES", "2048", 2048),
    "pool_size": ("GONGZHI_DB_POOL_SIZE", "3", 3),
    "upload_dir": ("GONGZHI_UPLOAD_DIR", "/srv/uploads", "/srv/uploads"),
    "max_upload_bytes": ("GONGZHI_MAX_UPLOAD_BYTES", "4096", 4096),
    "photo_url_ttl": ("GONGZHI_PHOTO_URL_TTL", "300", 300),
    "photo_url_key": ("GONGZHI_PHOTO_URL_KEY", "photo-key", "photo-key"),
    "public_url": ("GONGZHI_PUBLIC_URL", "https://api.example.org/", "https://api.example.org"),
    "autoclose_interval": ("GONGZHI_AUTOCLOSE_INTERVAL", "0", 0),
    "rate_limit_per_minute": ("GONGZHI_RATE_LIMIT_PER_MINUTE", "42", 42),
    "redis_url": ("GONGZHI_REDIS_URL", "redis://r:6379/0", "redis://r:6379/0"),
    "redis_timeout_ms": ("GONGZHI_REDIS_TIMEOUT_MS", "1500", 1500),
    "persisted_queries_file": ("GONGZHI_PERSISTED_QUERIES", "/srv/persisted.json", "/srv/persisted.json"),
    "persisted_only": ("GONGZHI_PERSISTED_ONLY", "ON", True),
    "data_keys": ("GONGZHI_DATA_KEYS", "k1:" + "A" * 43 + "=", "k1:" + "A" * 43 + "="),
    "index_key": ("GONGZHI_INDEX_KEY", "index-key", "index-key"),
    "compiled_reads": ("GONGZHI_COMPILED_READS", "0", False),
    "listen_database_url": ("GONGZHI_LISTEN_DATABASE_URL", "postgresql://app@db:5432/g", "postgresql://app@db:5432/g"),
    "db_pgbouncer": ("GONGZHI_DB_PGBOUNCER", "1", True),
    "db_max_overflow": ("GONGZHI_DB_MAX_OVERFLOW", "5", 5),
    "db_wire_shortcuts": ("GONGZHI_DB_WIRE_SHORTCUTS", "0", False),
    "db_pre_ping": ("GONGZHI_DB_PRE_PING", "True", True),
    "db_statement_timeout_ms": ("GONGZHI_DB_STATEMENT_TIMEOUT_MS", "1500", 1500),
    "db_lock_timeout_ms": ("GONGZHI_DB_LOCK_TIMEOUT_MS", "800", 800),
    "db_random_page_cost": ("GONGZHI_DB_RANDOM_PAGE_COST", "2", 2.0),
    "db_connect_timeout": ("GONGZHI_DB_CONNECT_TIMEOUT", "2", 2),
    "log_format": ("GONGZHI_LOG_FORMAT", "text", "text"),
    "log_level": ("GONGZHI_LOG_LEVEL", "warning", "warning"),
    "metrics": ("GONGZHI_METRICS", "off", False),
    "shutdown_timeout": ("GONGZHI_SHUTDOWN_TIMEOUT", "20", 20),
    "http_header_timeout": ("GONGZHI_HTTP_HEADER_TIMEOUT", "2.5", 2.5),
    "http_body_timeout": ("GONGZHI_HTTP_BODY_TIMEOUT", "0", 0.0),
    "platform_api": ("GONGZHI_PLATFORM_API", "1", True),
    "audit_retention_days": ("GONGZHI_AUDIT_RETENTION_DAYS", "365", 365),
    "adhoc_get": ("GONGZHI_ADHOC_GET", "1", True),
}
# Whole-number settings, for the refusal of a value that is not one.
INTEGERS = sorted(f for f, default in OLD_DEFAULTS.items() if type(default) is int)
FLAGS = sorted(f for f, default in OLD_DEFAULTS.items() if type(default) is bool)


def test_defaults_are_the_old_defaults() -> None:
    assert Settings().redacted() == OLD_DEFAULTS
    assert Settings.from_env({}).redacted() == OLD_DEFAULTS


def test_every_setting_has_a_variable_in_the_table() -> None:
    # redis_prefix never had a variable: it is set by keyword only.
    assert set(VARIABLES) == set(Settings().redacted()) - {"redis_prefix"}


@pytest.mark.parametrize("field", sorted(VARIABLES))
def test_each_variable_is_read_from_the_environment(field: str) -> None:
    name, raw, expected = VARIABLES[field]
    assert expected != OLD_DEFAULTS[field]
    s = Settings.from_env({name: raw})
    assert getattr(s, field) == expected
    if field != "demo":  # GONGZHI_DEMO also changes demo defaults (test below)
        assert {k: v for k, v in s.redacted().items() if k != field} == \
            {k: v for k, v in OLD_DEFAULTS.items() if k != field}


@pytest.mark.parametrize("field", sorted(VARIABLES))
def test_each_variable_is_read_from_the_settings_file_and_the_environment_wins(field: str, tmp_path: Path) -> None:
    name, raw, expected = VARIABLES[field]
    f = tmp_path / "gongzhi.env"
    f.write_text(f"# comment\n\nexport {name}='{raw}'\n", encoding="utf-8")
    assert getattr(Settings.from_env({"GONGZHI_SETTINGS_FILE": str(f)}), field) == expected
    f.write_text(f'{name}="{raw}"\n', encoding="utf-8")
    assert getattr(Settings.from_env({"GONGZHI_SETTINGS_FILE": str(f)}), field) == expected
    # the environment, set to the default's spelling, wins over the file
    default = OLD_DEFAULTS[field]
    env_raw = ("1" if default else "0") if isinstance(default, bool) else ("" if default is None else str(default))
    s = Settings.from_env({"GONGZHI_SETTINGS_FILE": str(f), name: env_raw})
    assert getattr(s, field) == default


def test_settings_file_lines(tmp_path: Path) -> None:
    f = tmp_path / "gongzhi.env"
    f.write_text("  # indented comment\nOTEL_SERVICE_NAME=gongzhi\n GONGZHI_DB_POOL_SIZE = 4 \n", encoding="utf-8")
    assert Settings.from_env({"GONGZHI_SETTINGS_FILE": str(f)}).pool_size == 4
    f.write_text("GONGZHI_DB_POOL_SIZE\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"gongzhi.env:1: expected GONGZHI_NAME=value"):
        Settings.from_env({"GONGZHI_SETTINGS_FILE": str(f)})


def test_a_variable_that_is_not_a_setting_is_not_read() -> None:
    s = Settings.from_env({"GONGZHI_REDIS_PREFIX": "x:", "GONGZHI_POOL_SIZE": "3",
                           "GONGZHI_PERSISTED_QUERIES_FILE": "p", "GONGZHI_EXTRA": "{}"})
    assert s.redacted() == OLD_DEFAULTS


@pytest.mark.parametrize("field", ["migration_database_url", "jwt_secret", "redis_url", "data_keys", "index_key",
                                   "persisted_queries_file", "listen_database_url", "jwt_jwks_file",
                                   "photo_url_key", "public_url"])
def test_an_empty_optional_variable_is_unset(field: str) -> None:
    assert getattr(Settings.from_env({VARIABLES[field][0]: ""}), field) is None


def test_demo_defaults() -> None:
    s = Settings.from_env({"GONGZHI_DEMO": "1"})
    assert s.demo and s.graphiql and s.introspection and s.adhoc_get and s.jwt_secret == DEMO_JWT_SECRET
    s = Settings.from_env({"GONGZHI_DEMO": "1", "GONGZHI_GRAPHIQL": "0", "GONGZHI_INTROSPECTION": "no",
                           "GONGZHI_ADHOC_GET": "off", "GONGZHI_JWT_SECRET": "mine"})
    assert s.demo and not s.graphiql and not s.introspection and not s.adhoc_get and s.jwt_secret == "mine"
    # outside the demo a GET runs persisted queries only unless set (issue #24)
    assert not Settings.from_env({}).adhoc_get
    for key in ("GONGZHI_JWT_PUBLIC_KEY_FILE", "GONGZHI_JWT_JWKS_FILE"):
        assert Settings.from_env({"GONGZHI_DEMO": "1", key: "/k"}).jwt_secret is None
    # the demo secret is never used without GONGZHI_DEMO
    assert Settings.from_env({"GONGZHI_DEMO": "0"}).jwt_secret is None
    assert Settings(demo=True).jwt_secret is None and not Settings(demo=True).graphiql


def test_keyword_construction_reads_nothing_else(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    f = tmp_path / "gongzhi.env"
    f.write_text("GONGZHI_LOG_FORMAT=text\n", encoding="utf-8")
    monkeypatch.setenv("GONGZHI_DB_POOL_SIZE", "3")
    monkeypatch.setenv("GONGZHI_DEMO", "1")
    monkeypatch.setenv("GONGZHI_SETTINGS_FILE", str(f))
    s = Settings(database_url="sqlite+aiosqlite:///x.db", jwt_secret="s", graphiql=False, rate_limit_per_minute=0)
    assert (s.database_url, s.jwt_secret, s.graphiql, s.rate_limit_per_minute) == ("sqlite+aiosqlite:///x.db", "s",
                                                                                   False, 0)
    assert s.pool_size == 10 and not s.demo and s.log_format == "json"
    # while from_env() without a mapping reads the process environment
    s = Settings.from_env()
    assert s.pool_size == 3 and s.demo and s.log_format == "text"


def test_owner_and_listen_urls() -> None:
    s = Settings(database_url="postgresql+asyncpg://app@h/g")
    assert s.owner_url == s.listen_url == "postgresql+asyncpg://app@h/g"
    s = Settings(database_url="a", migration_database_url="o", listen_database_url="l")
    assert (s.owner_url, s.listen_url) == ("o", "l")


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(Exception):  # noqa: B017 - a dataclass and a pydantic model refuse differently
        s.pool_size = 3  # type: ignore[misc]
    assert s.pool_size == 10


@pytest.mark.parametrize("field", INTEGERS)
def test_a_bad_integer_is_refused_naming_the_variable(field: str) -> None:
    name = VARIABLES[field][0]
    with pytest.raises(ValueError, match=name) as e:
        Settings.from_env({name: "abc"})
    assert "abc" in str(e.value)


@pytest.mark.parametrize("field", FLAGS)
def test_a_bad_flag_is_refused_naming_the_variable(field: str) -> None:
    name = VARIABLES[field][0]
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: "maybe"})


def test_a_bad_value_in_the_file_names_the_variable_and_the_file(tmp_path: Path) -> None:
    f = tmp_path / "prod.env"
    f.write_text("GONGZHI_DB_POOL_SIZE=ten\nGONGZHI_METRICS=sometimes\n", encoding="utf-8")
    with pytest.raises(ValueError) as e:
        Settings.from_env({"GONGZHI_SETTINGS_FILE": str(f)})
    message = str(e.value)
    assert "GONGZHI_DB_POOL_SIZE" in message and "GONGZHI_METRICS" in message and str(f) in message
    assert "整数" in message  # the operator reads Chinese by default


def test_photo_link_settings_are_checked() -> None:
    for env, words in (({"GONGZHI_PHOTO_URL_TTL": "5"}, ("GONGZHI_PHOTO_URL_TTL", "不能小于 10")),
                       ({"GONGZHI_PHOTO_URL_TTL": "100000"}, ("GONGZHI_PHOTO_URL_TTL", "不能大于 86400")),
                       ({"GONGZHI_PUBLIC_URL": "api.example.org"}, ("GONGZHI_PUBLIC_URL", "http(s)://"))):
        with pytest.raises(ValueError) as e:
            Settings.from_env(env)
        assert all(w in str(e.value) for w in words), str(e.value)


def test_secrets_stay_out_of_every_rendering() -> None:
    s = Settings(database_url="postgresql+asyncpg://app:db-pass-123@h/g", jwt_secret="jwt-secret-456",
                 data_keys="k1:" + "A" * 43 + "=", index_key="index-key-789",
                 redis_url="redis://:redis-pass-0@r:6379/0", migration_database_url="postgresql://o:own-pass-1@h/g",
                 listen_database_url="postgresql://l:listen-pass-2@h/g", photo_url_key="photo-key-3")
    shown = repr(s) + str(s) + f"{s}" + orjson.dumps(s.redacted()).decode()
    for secret in ("db-pass-123", "jwt-secret-456", "A" * 43, "index-key-789", "redis-pass-0", "own-pass-1",
                   "listen-pass-2", "photo-key-3"):
        assert secret not in shown
    assert "app:***@h/g" in shown and s.redacted()["jwt_secret"] == "***"


@pytest.mark.parametrize(("name", "raw", "least"), [("GONGZHI_DB_STATEMENT_TIMEOUT_MS", "-1", "0"),
                                                    ("GONGZHI_DB_LOCK_TIMEOUT_MS", "-5", "0"),
                                                    ("GONGZHI_DB_CONNECT_TIMEOUT", "0", "1")])
def test_a_timeout_below_its_least_value_is_refused(name: str, raw: str, least: str) -> None:
    # PostgreSQL would refuse a negative timeout in every request's first statement (issue #26).
    with pytest.raises(ValueError, match=name) as e:
        Settings.from_env({name: raw})
    assert f"不能小于 {least}" in str(e.value)
