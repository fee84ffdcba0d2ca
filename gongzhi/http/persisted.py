"""Persisted queries: automatic persisted queries (APQ: a client sends the SHA-256 of a document it
sent before) and an allowlist mode for production, where only registered operations run."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from pathlib import Path

from resolvers.i18n import t


class PersistedQueryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


class PersistedQueries:
    def __init__(self, allowlist_file: str | None = None, *, only: bool = False, capacity: int = 2000) -> None:
        self.allowlist: dict[str, str] = {}
        if allowlist_file:
            data = json.loads(Path(allowlist_file).read_text(encoding="utf-8"))
            for h, q in data.items():
                if sha256(q) != h:
                    raise ValueError(f"allowlist entry {h[:12]}… does not hash to its key")
            self.allowlist = dict(data)
        self.only = only
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity

    def registered(self, query: str) -> bool:
        """Whether the document is a persisted one: in the allowlist, or registered by APQ (POST)."""
        digest = sha256(query)
        return digest in self.allowlist or (not self.only and digest in self._cache)

    def resolve(self, query: object, extensions: object) -> str | None:
        """The document to run: the one sent, or the one a hash names; None when neither applies."""
        ext = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        digest = ext.get("sha256Hash") if isinstance(ext, dict) else None
        if digest is not None and (not isinstance(digest, str) or len(digest) != 64):
            raise PersistedQueryError("BAD_REQUEST", t("persistedQuery.sha256Hash 应为 SHA-256 十六进制摘要",
                                                       "persistedQuery.sha256Hash must be a SHA-256 hex digest"))
        if isinstance(query, str) and query.strip():
            if digest is None and not self.only:
                return query  # nothing to check or register: no digest to compute (issue #21)
            actual = sha256(query)
            if digest is not None and digest != actual:
                raise PersistedQueryError("PERSISTED_QUERY_HASH_MISMATCH", t("查询文档的哈希与 sha256Hash 不符",
                                                                             "the query does not hash to sha256Hash"))
            if self.only:
                if actual not in self.allowlist:
                    raise PersistedQueryError("PERSISTED_QUERY_REQUIRED",
                                              t("本服务只执行已登记的查询",
                                                "this server runs registered operations only"))
                return query
            if digest is not None:
                self._remember(actual, query)
            return query
        if digest is None:
            return None
        found = self.allowlist.get(digest) or (None if self.only else self._cache.get(digest))
        if found is None:
            raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        if digest in self._cache:
            self._cache.move_to_end(digest)
        return found

    def _remember(self, digest: str, query: str) -> None:
        self._cache[digest] = query
        self._cache.move_to_end(digest)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
