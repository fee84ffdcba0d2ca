"""A compiled read's audit entries written by the read's own statement (issue #21).

A read whose answer holds full reads of personal data (``compiled.plans.finish``: the "$pii" markers of the Person
fields, the "$reads" lists of the rows that read persons in full) writes one ``person.read_pii`` entry of the ids
it read, with that entry's ``audit_pii_reads`` rows (migration 0049); a person's data report (PIPL's access right,
``compiled.personal_data``: its "$report" marker) writes its own ``person.report`` entry of the counts it listed.
Both are written before the answer leaves. They went as a statement of their own after the read, with COMMIT
(``AppState.commit_read``): a round trip, a Bind of the ids and their parsing.

Here they go in the read's statement: the read as a materialized WITH, the ids and the report's figures taken from
its JSON text by plain string splits (``string_to_table``, no regular expression: PostgreSQL's took ≈ 1 ms for a
households page's 15 kB), the entries and the ids' rows as data-modifying WITHs of them, and COMMIT with it in one
round trip (``tenants.commit.fetch_and_commit``). What the splits find is what only a marker can write — a marker's
opening text ``{"$pii" : "`` then the id, a "$reads" list's quoted ids, a "$report" list — since outside a JSON
string a quote is JSON's own, and inside one it is escaped. The entries are those ``commit_read`` writes, their
columns by ``audit_rows``: ``RequestContext.full_read_entry`` (its ids sorted and distinct — byte order, Python's
``sorted`` of ASCII texts — as a compact JSON list: ``to_json`` of a text[], as ``models.jsontext.json_text``
writes it; no id, no entry) and ``report_entry`` (the report's person and its two counts, written as json_text
writes them), the report's first as ``audit_entries`` orders them.

Only for a plan whose markers are these and that holds one report at most (``audits_in_statement``): a plan that
may need the calendar hands the request to the general path after it ran, and two reports would need two entries
of ids made here. One that may decline (a data report's odd stated purpose, compiled.audit.DECLINE) writes nothing
when it does: the general path answers the request from the start and writes its entries. Not on a Citus
coordinator, where an ``INSERT … SELECT`` from a function runs as a COPY that row-level security refuses (issue
#27): there ``commit_read`` writes them, as before."""

from __future__ import annotations

import re
import uuid
from typing import Any

from gongzhi.http.state import _AUDIT_COLUMNS, _AUDIT_TYPES, audit_rows, audit_values
from models.bounded import keep
from resolvers.context import RequestContext
from resolvers.register import REPORTED, report_entry

# The words of the markers a plan's SQL may write ("$" before anything but a digit: compiled.plans._MARKED).
_WORDS = re.compile(r"\$([^0-9][A-Za-z_]*)")
_WRITTEN_HERE = {"$pii", "$reads", "$report", "$decline"}
_AUDITED: dict[str, bool] = {}  # by a plan's text


def audits_in_statement(sql: str) -> bool:
    """Whether the plan ``sql`` writes markers of full reads or of one report, and no other marker (kept per text)."""
    known = _AUDITED.get(sql)
    if known is None:
        words = ["$" + m.group(1) for m in _WORDS.finditer(sql)]
        known = keep(_AUDITED, sql, bool(words) and set(words) <= _WRITTEN_HERE and words.count("$report") <= 1,
                     4096)
    return known


def written(ctx: RequestContext) -> bool:
    """After ``finish``: whether the entries the request owes are those its statement wrote (the full reads', and a
    report's, which ``finish`` made again from the answer) — else (never so for such a plan) it must not answer."""
    return not ctx.events and len(ctx.audit) <= 1 and all(e.action == REPORTED for e in ctx.audit)


# An answer with a "$decline" object goes to the general path, which answers the request from the start and writes
# its entries itself (compiled.plans.run_compiled): the statement then writes none.
_KEPT = "strpos((SELECT data FROM r), '\"$decline\"') = 0"
_PII = "'{\"$pii\" : \"'"  # SQL literals of the markers' opening texts
_READS = "'\"$reads\" : ['"
_REPORT = "'\"$report\" : [\"'"  # then the person's id, '", ', the records' count, ', ', the full reads', ']'


def read_audit_sql(read: str, first: int, columns: tuple[str, ...], types: tuple[str, ...],
                   report: bool = False) -> str:
    """The statement of the plan ``read`` with its audit entries: the read's parameters first, then (from ``$first``)
    the tenant, the full reads' entry's ``columns`` (of ``types``) but its object_ids, which are the ids, and with
    ``report`` the report's entry's columns but its object_ids and detail, which are the report's."""
    n = first + 1

    def values(filled: dict[str, str]) -> list[str]:
        nonlocal n
        out = []
        for column, kind in zip(columns, types, strict=True):
            if column in filled:
                out.append(filled[column])
                continue
            out.append(f"${n}::{kind}")
            n += 1
        return out

    reads = values({"object_ids": "to_json(ids.a)"})
    ids = (f"SELECT left(t.piece, 36) COLLATE \"C\" AS o FROM r, string_to_table(r.data, {_PII}) "
           "WITH ORDINALITY AS t(piece, n) WHERE t.n > 1 "
           f"UNION ALL SELECT btrim(e.v, '\"') COLLATE \"C\" FROM r, string_to_table(r.data, {_READS}) "
           "WITH ORDINALITY AS t(piece, n), string_to_table(split_part(t.piece, ']', 1), ', ') AS e(v) "
           "WHERE t.n > 1 AND e.v <> ''")
    rows = f"SELECT ${first}::uuid, {', '.join(reads)} FROM ids WHERE cardinality(ids.a) > 0 AND {_KEPT}"
    ahead = ""
    if report:
        figures = "split_part(substr(t.piece, 40), ']', 1)"  # '<records>, <full reads>'
        ahead = (f"rep AS (SELECT left(t.piece, 36) AS person, split_part({figures}, ', ', 1) AS records, "
                 f"split_part({figures}, ', ', 2) AS reads FROM r, string_to_table(r.data, {_REPORT}) "
                 "WITH ORDINALITY AS t(piece, n) WHERE t.n > 1), ")
        own = values({"object_ids": "('[\"' || rep.person || '\"]')::json",
                      "detail": "('{\"records\":' || rep.records || ',\"fullReads\":' || rep.reads || '}')::json"})
        rows = f"SELECT ${first}::uuid, {', '.join(own)} FROM rep WHERE {_KEPT} UNION ALL {rows}"
    at = dict(zip(columns, reads, strict=True))
    return (f"WITH r(data) AS MATERIALIZED ({read}), "
            f"ids AS (SELECT coalesce(array_agg(DISTINCT d.o ORDER BY d.o), '{{}}'::text[]) AS a FROM ({ids}) d), "
            f"{ahead}audit AS (INSERT INTO audit_log (tenant_id, {', '.join(columns)}) {rows}), "
            f"pii AS (INSERT INTO audit_pii_reads (tenant_id, id, created_at, object_id) "
            f"SELECT ${first}::uuid, {at['id']}, {at['created_at']}, o FROM ids, unnest(ids.a) AS o WHERE {_KEPT}) "
            "SELECT data FROM r")


_SQL: dict[tuple[str, int], tuple[str, bool]] = {}  # by plan and its parameters' count: the statement, a report in it
_READ_OF: dict[str, tuple[str, int]] = {}  # the statement's read and its parameters' count, by the statement


def read_of(sql: str) -> tuple[str, int] | None:
    """The read of a statement ``read_with_audit`` made, and how many of its parameters are the read's (None: not
    such a statement) — what an EXPLAIN of the read alone runs, without writing its entries again."""
    return _READ_OF.get(sql)


def read_with_audit(ctx: RequestContext, read: str, params: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """The plan's statement and parameters with the entries the request will owe, what the answer says of them (the
    ids, the report's figures) left to the statement."""
    key = (read, len(params))
    made = _SQL.get(key)
    if made is None:  # once per plan: its text searched and the statement written
        report = '"$report"' in read
        made = keep(_SQL, key, (read_audit_sql(read, len(params) + 1, _AUDIT_COLUMNS, _AUDIT_TYPES, report), report),
                    1024)
        keep(_READ_OF, made[0], key, 1024)
    sql, report = made
    entries = [ctx.full_read_entry([])]
    if report:  # the report's first, as audit_entries orders them (its id the older)
        entries.insert(0, report_entry(ctx, uuid.UUID(int=0), 0, 0))
    rows = audit_rows(entries, ctx.actor.tenant_id, ctx.now)
    args: list[Any] = [*params, ctx.actor.tenant_id, *audit_values(rows[-1], _IDS)]
    if report:
        args += audit_values(rows[0], _REPORTS)
    return sql, tuple(args)


_IDS = frozenset({"object_ids"})  # what the statement fills in: the full reads' ids; the report's person and figures
_REPORTS = frozenset({"object_ids", "detail"})
