"""The settings ``gongzhi serve`` checks before it starts a worker (issue #25), in a module of its
own: the master process of ``serve --workers N`` imports this, not the app — the app's modules
(schema, resolvers …: most of a worker's start-up) are imported by each worker, and were imported
by the master too, for nothing, while the workers started beside it (issue #21)."""

from __future__ import annotations

from gongzhi.http.auth import TokenVerifier
from gongzhi.http.persisted import PersistedQueries
from gongzhi.settings import Settings
from models import sealing
from resolvers.photo_links import derive_key


def photo_link_key(settings: Settings) -> bytes | None:
    """The key of signed photo links (issue #25): derived from GONGZHI_PHOTO_URL_KEY, else from the
    JWT secret, else from the data keys — never one of them as it is. None when none is set (an
    RS256 deployment without data keys): ``preflight`` refuses to serve then."""
    for secret in (settings.photo_url_key, settings.jwt_secret, settings.data_keys):
        if secret:
            return derive_key(secret)
    return None


class ConfigError(Exception):
    """A setting the server needs is missing or invalid: it must not start (issue #25)."""


def preflight(settings: Settings) -> None:
    """What ``create_app`` needs of the settings, checked once in the master before any worker
    starts, so a bad configuration is one line and a non-zero exit instead of workers that crash in
    a loop. Raises ``ConfigError`` naming the setting."""
    try:
        TokenVerifier(settings)
    except Exception as e:
        raise ConfigError(f"令牌验证密钥未设置或无效（GONGZHI_JWT_SECRET、GONGZHI_JWT_PUBLIC_KEY_FILE 或 "
                          f"GONGZHI_JWT_JWKS_FILE）：{e}") from None
    try:
        sealing.configure(settings.data_keys, settings.index_key)
    except Exception as e:
        raise ConfigError(f"个人信息加密密钥无效（GONGZHI_DATA_KEYS / GONGZHI_INDEX_KEY）：{e}") from None
    try:
        PersistedQueries(settings.persisted_queries_file, only=settings.persisted_only)
    except Exception as e:
        raise ConfigError(f"持久化查询文件无法读取（GONGZHI_PERSISTED_QUERIES）：{e}") from None
    if photo_link_key(settings) is None:
        raise ConfigError("照片链接签名密钥未设置（GONGZHI_PHOTO_URL_KEY；或 GONGZHI_JWT_SECRET、GONGZHI_DATA_KEYS "
                          "之一，由其派生）")
    if settings.platform_api and not settings.owner_url:
        raise ConfigError("平台接口需要数据库所有者连接（GONGZHI_MIGRATION_DATABASE_URL）")
