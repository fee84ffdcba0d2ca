"""The text of a JSON value as the app writes it to a ``json`` column (issue #21): orjson's — compact, UTF-8 — for the
ORM's JSON type (the engine's serializer, tenants.session.make_engine) and for the statements written without the ORM
(an audit entry's detail, a fast write's JSON columns) alike, so a row reads the same whichever path wrote it.

``json.dumps`` spent ≈ 25–50 µs on a report's 2.4 kB audit detail (the ASCII escapes of its Chinese doubled it);
orjson ≈ 3–5 µs, and the entry stays under PostgreSQL's 2 kB compression threshold more often. Readers parse the
JSON (the audit chain hashes the parsed value, resolvers.audit.chain.canonical): the text's form is no contract.
Values orjson refuses that ``json.dumps`` accepts (an int past 64 bits) are written by ``json.dumps`` in the same
compact, UTF-8 form; what both refuse raises TypeError as before. NaN and infinities, which ``json.dumps`` wrote
as invalid JSON that PostgreSQL refused, are written as null."""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["json_text"]

_OPTIONS = orjson.OPT_NON_STR_KEYS


def json_text(value: Any) -> str:
    """``value`` as JSON text (see the module)."""
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
