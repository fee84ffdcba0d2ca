"""A compiled read's audit entry of its full reads of personal data, written by the read's own statement (issue #21).

A read whose answer holds full reads (``compiled.plans.finish``: the "$pii" markers of the Person fields, the
"$reads" lists of the rows that read persons in full) writes one ``person.read_pii`` entry of the ids it read and
that entry's ``audit_pii_reads`` rows (migration 0049) before its answer leaves. They went as a statement of their
own after the read, with COMMIT (``AppState.commit_read``): a round trip, a Bind of the ids and their parsing —
≈ 0.3 ms of the app's CPU on a 20-household page of 42 full reads (bench/RESULTS.md).

Here they go in the read's statement: the read as a materialized WITH, the ids taken from its JSON text by plain
string splits (``string_to_table``, no regular expression: PostgreSQL's took ≈ 1 ms for a page's 15 kB), the
entry and its rows as data-modifying WITHs of those ids, and COMMIT with it in one round trip
(``tenants.commit.fetch_and_commit``). The ids are the markers ``finish`` opens — a marker's opening text
``{"$pii" : "`` then the id; a "$reads" list's quoted ids — which only a marker can write: outside a JSON string a
quote is JSON's own, inside one it is escaped. The same entry as ``RequestContext.audit_entries`` makes (its
columns by ``audit_rows``): its ids sorted and distinct (byte order, Python's ``sorted`` of ASCII texts), as a JSON
list written compact (``to_json`` of a text[]; ``models.jsontext.json_text`` writes the same). No id, no entry.

Only for a plan whose markers are these two (``audits_in_statement``): a person's data report writes an entry of
its own, and a plan that may decline or need the calendar may hand the request to the general path after it ran.
Not on a Citus coordinator, where an ``INSERT … SELECT`` from a function runs as a COPY that row-level security
refuses (issue #27): there ``commit_read`` writes them, as before."""

from __future__ import annotations

import re
from typing import Any

from gongzhi.http.state import _AUDIT_COLUMNS, _AUDIT_TYPES, audit_rows
from models.bounded import keep
from models.jsontext import json_text
from resolvers.context import RequestContext

# The words of the markers a plan's SQL may write ("$" before anything but a digit: compiled.plans._MARKED).
_WORDS = re.compile(r"\$([^0-9])([A-Za-z_]*)")
_FULL_READS = {"$pii", "$reads"}
_AUDITED: dict[str, bool] = {}  # by a plan's text


def audits_in_statement(sql: str) -> bool:
    """Whether the plan ``sql`` writes markers of full reads and no other marker (kept per text)."""
    known = _AUDITED.get(sql)
    if known is None:
        words = {"$" + m.group(1) + m.group(2) for m in _WORDS.finditer(sql)}
        known = keep(_AUDITED, sql, bool(words) and words <= _FULL_READS, 4096)
    return known


_OPEN = "'{\"$pii\" : \"'"  # SQL literals of the markers' opening texts
_READS = "'\"$reads\" : ['"


def read_audit_sql(read: str, first: int, columns: tuple[str, ...], types: tuple[str, ...]) -> str:
    """The statement of the plan ``read`` with its full reads' audit entry: the read's parameters first, then
    (from ``$first``) the tenant and the entry's ``columns`` (of ``types``) but its object_ids, which are the ids."""
    values, n = [], first + 1
    for column, kind in zip(columns, types, strict=True):
        if column == "object_ids":
            values.append("to_json(ids.a)")
            continue
        values.append(f"${n}::{kind}")
        n += 1
    at = {c: values[i] for i, c in enumerate(columns)}
    ids = (f"SELECT left(t.piece, 36) COLLATE \"C\" AS o FROM r, string_to_table(r.data, {_OPEN}) "
           "WITH ORDINALITY AS t(piece, n) WHERE t.n > 1 "
           f"UNION ALL SELECT btrim(e.v, '\"') COLLATE \"C\" FROM r, string_to_table(r.data, {_READS}) "
           "WITH ORDINALITY AS t(piece, n), string_to_table(split_part(t.piece, ']', 1), ', ') AS e(v) "
           "WHERE t.n > 1 AND e.v <> ''")
    return (f"WITH r(data) AS MATERIALIZED ({read}), "
            f"ids AS (SELECT coalesce(array_agg(DISTINCT d.o ORDER BY d.o), '{{}}'::text[]) AS a FROM ({ids}) d), "
            f"audit AS (INSERT INTO audit_log (tenant_id, {', '.join(columns)}) "
            f"SELECT ${first}::uuid, {', '.join(values)} FROM ids WHERE cardinality(ids.a) > 0), "
            f"pii AS (INSERT INTO audit_pii_reads (tenant_id, id, created_at, object_id) "
            f"SELECT ${first}::uuid, {at['id']}, {at['created_at']}, o FROM ids, unnest(ids.a) AS o) "
            "SELECT data FROM r")


_SQL: dict[tuple[str, int], str] = {}
_READ_OF: dict[str, tuple[str, int]] = {}  # the statement's read and its parameters' count, by the statement


def read_of(sql: str) -> tuple[str, int] | None:
    """The read of a statement ``read_with_audit`` made, and how many of its parameters are the read's (None: not
    such a statement) — what an EXPLAIN of the read alone runs, without writing its entry again."""
    return _READ_OF.get(sql)


def read_with_audit(ctx: RequestContext, read: str, params: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """The plan's statement and parameters with the full reads' entry the request will owe (``audit_entries``'
    entry, its ids left to the statement)."""
    row = audit_rows([ctx.full_read_entry([])], ctx.actor.tenant_id, ctx.now)[0]
    key = (read, len(params))
    sql = _SQL.get(key)
    if sql is None:
        sql = keep(_SQL, key, read_audit_sql(read, len(params) + 1, _AUDIT_COLUMNS, _AUDIT_TYPES), 1024)
        keep(_READ_OF, sql, key, 1024)
    values = [json_text(row[c]) if t == "json" else row[c] for c, t in zip(_AUDIT_COLUMNS, _AUDIT_TYPES, strict=True)
              if c != "object_ids"]
    return sql, (*params, ctx.actor.tenant_id, *values)
