"""Every statement the application sends on a tenant table names its tenant (issue #27).

On Citus a statement is routed to one shard only when the planner sees ``tenant_id = <value>`` for
each distributed table it reads or writes; row-level security's ``current_setting`` is not such a
value, and neither is a join column (``c.tenant_id = b.tenant_id`` alone went to all 32 shards). So
each occurrence of a tenant table (one with a ``tenant_id`` column, from the models' metadata) in a
SELECT, UPDATE or DELETE — subqueries and CTEs included — needs ``<its alias>.tenant_id`` compared
(``=``, ``IN``, ``= ANY``) with a parameter or a literal. An INSERT names its rows' tenant in its
values (its SELECT part, if any, is checked like any SELECT).

The suite's conftest hooks every statement on PostgreSQL: SQLAlchemy's ``before_cursor_execute`` on
every engine, and the statements sent on the driver directly (``tenants.session._fetchrow``: the
request's first statement, compiled reads). The verdict is cached per statement text (a statement is
tokenized once; the compiled reads' literals are masked in the key, so a compiled read
is checked once per shape), so the check costs a dict
lookup per statement after the first.

The verdicts are kept between processes too (CI time, issue #21): each test process (a pytest-xdist
worker, or pytest alone) writes the verdicts it worked out to a file of its own under
``.pytest_cache/gongzhi-tenant-predicates/<key>/`` at its end, and each reads every file there at its
start; a shape found there is not tokenized again (its digest is looked up: 16 bytes of blake2b). The key
is a hash of this file's text and of the tenant tables, so a change to the checker or to the models'
tables starts afresh. CI's pgbouncer run fills it for `make test`'s PostgreSQL half, and each run for the
next one on the same checkout. GONGZHI_TENANT_PREDICATES_CACHE=0 turns it off.

Exempt, with the reason:
- statements whose nearest repository frame is in tests/: a test's own look at the database (as the
  owner, across tenants on purpose) is not the application's;
- ``EXEMPT_TABLES`` below (none so far).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from models.base import Base

ROOT = Path(__file__).resolve().parents[2]
_TESTS = str(ROOT / "tests") + "/"
_SELF = str(Path(__file__).resolve())
_VENV = str(ROOT / ".venv") + "/"

TENANT_TABLES = frozenset(t.name for t in Base.metadata.tables.values() if "tenant_id" in t.c)
EXEMPT_TABLES: dict[str, str] = {}  # table → why statements on it need no tenant predicate
_MENTIONS = re.compile(r"\b(" + "|".join(sorted(TENANT_TABLES, key=len, reverse=True)) + r")\b", re.IGNORECASE)
_READS = re.compile(r"\b(SELECT|WHERE|FROM)\b", re.IGNORECASE)
_DML = re.compile(r"^\s*(SELECT|WITH|UPDATE|DELETE|INSERT)\b", re.IGNORECASE)


# Whitespace is taken in front of each token (one match per token, not one more per run of spaces: a
# quarter of the tokenizing, CI time, issue #21).
_TOKEN = re.compile(r"""\s*+(?:
    (?P<str>[EeBbXx]?'(?:[^']|'')*')
  | (?P<qid>"(?:[^"]|"")*")
  | (?P<comment>--[^\n]*)
  | (?P<cast>::)
  | (?P<param>\$\d+|%\(\w+\)s|:\w+|\?)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<id>[A-Za-z_][A-Za-z_0-9$]*(?:\.(?:[A-Za-z_][A-Za-z_0-9$]*|"(?:[^"]|"")*"))*)
  | (?P<op><>|!=|<=|>=|=|\(|\)|,|\[|\])
  | (?P<other>.)
)""", re.VERBOSE)
_NOT_ALIAS = frozenset("""where join left right inner outer full cross on group order limit offset union set
    returning for using window having except intersect lateral values natural fetch as and or tablesample with
    select""".split())
_TABLE_BEFORE = frozenset(("from", "join", "update", "into"))


@dataclass(slots=True)
class _Tok:
    kind: str
    text: str
    group: int  # index of the innermost enclosing "(" token, -1 at the top


def _tokens(sql: str) -> list[_Tok]:
    out: list[_Tok] = []
    stack = [-1]
    for m in _TOKEN.finditer(sql):
        kind = m.lastgroup or "other"
        if kind == "comment":
            continue
        text = m.group(kind)
        if kind == "op" and text == ")" and len(stack) > 1:
            stack.pop()
        out.append(_Tok(kind, text, stack[-1]))
        if kind == "op" and text == "(":
            stack.append(len(out) - 1)
    return out


def _value_at(toks: list[_Tok], i: int) -> bool:
    """A parameter or a literal starts at ``i`` (behind ``(``, ``CAST (``, ``ANY (``, ``ARRAY [``)."""
    while i < len(toks) and (toks[i].text in ("(", "[") or toks[i].text.lower() in ("cast", "any", "array")):
        i += 1
    return i < len(toks) and toks[i].kind in ("param", "str", "num")


def _value_before(toks: list[_Tok], i: int) -> bool:
    """A parameter or literal ends at ``i`` (possibly cast: ``$1::UUID``)."""
    if i >= 1 and toks[i].kind == "id" and toks[i - 1].kind == "cast":
        i -= 2
    return i >= 0 and toks[i].kind in ("param", "str", "num")


def _parents(toks: list[_Tok], group: int) -> Iterator[int]:
    while True:
        yield group
        if group < 0:
            return
        group = toks[group].group


def problems(sql: str) -> list[str]:
    """The tenant tables of ``sql`` that have no ``tenant_id = <parameter or literal>`` (empty: fine).

    A tokenizer, not a parser (sqlglot took a second on some compiled reads): a table occurrence is a
    tenant table's name after FROM, JOIN, UPDATE or a FROM list's comma, with its alias; a predicate is
    ``<alias>.tenant_id`` (or a bare ``tenant_id``) compared by ``=``, ``IN (…)`` or ``= ANY (…)``
    with a parameter or literal. A qualified predicate binds the nearest occurrence of its alias in its
    own parenthesis group or an enclosing one (a subquery's alias is not the outer query's); a bare one
    binds the occurrences of its own group."""
    toks = _tokens(sql)
    # occurrences: (group, alias, table name, token index)
    occurrences: list[tuple[int, str, str, int]] = []
    in_from: set[int] = set()  # groups whose FROM list is being read (a comma continues it)
    for i, tok in enumerate(toks):
        low = tok.text.lower()
        if tok.kind == "id" and low in ("from", "join", "update"):
            in_from.add(tok.group) if low == "from" else None
        elif tok.kind == "id" and low in _NOT_ALIAS:
            in_from.discard(tok.group)
        prev = toks[i - 1] if i else None
        if tok.kind != "id" or low not in TENANT_TABLES or prev is None:
            continue
        after_comma = prev.text == "," and prev.group in in_from and prev.group == tok.group
        if not (prev.kind == "id" and prev.text.lower() in _TABLE_BEFORE) and not after_comma:
            continue
        if prev.text.lower() == "into":
            continue  # an INSERT's target: its rows carry tenant_id values
        j = i + 1
        if j < len(toks) and toks[j].text.lower() == "as":
            j += 1
        alias = low
        if j < len(toks) and toks[j].kind == "id" and "." not in toks[j].text \
                and toks[j].text.lower() not in _NOT_ALIAS:
            alias = toks[j].text.lower()
        occurrences.append((tok.group, alias, low, i))
    bound: set[int] = set()
    assigning: set[int] = set()  # groups inside an UPDATE's SET list (or ON CONFLICT … DO UPDATE SET)
    for i, tok in enumerate(toks):
        if tok.kind != "id":
            continue
        low = tok.text.lower()
        if low == "set":
            assigning.add(tok.group)
            continue
        if low in ("where", "from", "returning"):
            assigning.discard(tok.group)
        if tok.group in assigning:
            continue  # "tenant_id = $1" there is an assignment, not a predicate
        if low == "where" and i + 1 < len(toks) and toks[i + 1].text.lower() == "false" \
                and (i + 2 == len(toks) or toks[i + 2].text.lower() in (")", "order", "limit", "group")):
            # SQLAlchemy folds "tenant_id = x AND false" into "WHERE false" (no grant): no row, no shard.
            bound.update(k for k, occ in enumerate(occurrences) if occ[0] == tok.group)
            continue
        if not (low == "tenant_id" or low.endswith(".tenant_id")):
            continue
        nxt = toks[i + 1].text.lower() if i + 1 < len(toks) else ""
        ok = (nxt == "=" and _value_at(toks, i + 2)) or (nxt == "in" and _value_at(toks, i + 2))
        if not ok and i >= 2 and toks[i - 1].text == "=":
            ok = _value_before(toks, i - 2)
        if not ok:
            continue
        qualifier = low.rsplit(".", 1)[0] if "." in low else None
        for group in _parents(toks, tok.group):
            hits = [k for k, (g, alias, _n, _i) in enumerate(occurrences)
                    if g == group and (qualifier is None or alias == qualifier)]
            if hits:
                bound.update(hits)
                break
            if qualifier is None:
                break  # a bare tenant_id is its own group's
    return [f"{name if alias == name else f'{name} AS {alias}'} at «{_near(toks, i)}»"
            for k, (_g, alias, name, i) in enumerate(occurrences) if k not in bound]


def _near(toks: list[_Tok], i: int) -> str:
    return " ".join(t.text for t in toks[max(i - 1, 0):i + 14])


_LITERAL = re.compile(r"'(?:[^']|'')*'")
# policies.filters.scope_buildings names its CTE by a digest of the scope's area paths (ids of this run's
# tenants): renamed in the shape, in order of first appearance — one to one, so a statement's structure and
# its verdict are unchanged — the same read shapes alike in every run, and kept verdicts find it.
_SCOPE_CTE = re.compile(r"\bscope_[0-9a-f]{16}_\d+\b")


def shape_of(sql: str) -> str:
    """What a verdict is kept under: literals masked, the scope CTEs' names numbered."""
    shape = _LITERAL.sub("'?'", sql)  # compiled reads inline literals: one verdict per shape
    if "scope_" in shape:
        names: dict[str, str] = {}
        shape = _SCOPE_CTE.sub(lambda m: names.setdefault(m.group(), f"scope_cte{len(names)}"), shape)
    return shape


def _digest(shape: str) -> str:
    """The same in every process (``hash`` is salted per process; execnet carries no 64-bit ints)."""
    return hashlib.blake2b(shape.encode(), digest_size=8).hexdigest()


def _kept_digest(shape: str) -> str:
    """A shape's name in the kept verdicts (wider than ``_digest``: a collision would pass a statement)."""
    return hashlib.blake2b(shape.encode(), digest_size=16).hexdigest()


def cache_key() -> str:
    """What a kept verdict depends on: this checker's text and the tenant tables."""
    text = Path(__file__).read_bytes() + "\n".join(sorted(TENANT_TABLES)).encode()
    return hashlib.blake2b(text, digest_size=12).hexdigest()


CACHE_ROOT = ROOT / ".pytest_cache" / "gongzhi-tenant-predicates"


@dataclass
class Checker:
    verdicts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0
    parse_seconds: float = 0.0
    statements: int = 0
    # Shapes seen by other processes (pytest-xdist workers), as digests: the summary counts distinct shapes
    # over the whole run, not over the controller's own (it runs no test).
    other_shapes: set[str] = field(default_factory=set)
    # Verdicts kept by earlier processes (``load``), by ``_kept_digest``; those this one worked out itself.
    kept: dict[str, tuple[str, ...]] = field(default_factory=dict)
    worked_out: dict[str, tuple[str, ...]] = field(default_factory=dict)
    from_kept: int = 0

    def load(self, directory: Path) -> None:
        """Every verdict kept under ``directory`` (files other processes wrote, whole or not at all)."""
        for path in sorted(directory.glob("*.json")) if directory.is_dir() else ():
            try:
                found = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # unreadable: its verdicts are worked out again
            self.kept.update((k, tuple(v)) for k, v in found.items())

    def save(self, directory: Path) -> Path | None:
        """The verdicts this process worked out, into a file of its own under ``directory`` (atomically)."""
        if not self.worked_out:
            return None
        directory.mkdir(parents=True, exist_ok=True)
        name = f"{os.getpid()}-{os.urandom(4).hex()}"
        tmp = directory / f".{name}.tmp"
        tmp.write_text(json.dumps(self.worked_out), encoding="utf-8")
        path = directory / f"{name}.json"
        os.replace(tmp, path)
        return path

    def worker_output(self) -> dict[str, object]:
        """What a worker sends its controller at the end (execnet carries plain values only)."""
        return {"statements": self.statements, "seconds": self.seconds, "parse_seconds": self.parse_seconds,
                "shapes": [_digest(k) for k in self.verdicts], "violations": list(self.violations),
                "from_kept": self.from_kept}

    def merge(self, out: dict[str, object]) -> None:
        """Add a worker's counts (``worker_output``) to this process's."""
        self.statements += int(out["statements"])  # type: ignore[call-overload]
        self.seconds += float(out["seconds"])  # type: ignore[arg-type]
        self.parse_seconds += float(out["parse_seconds"])  # type: ignore[arg-type]
        self.other_shapes.update(out["shapes"])  # type: ignore[arg-type]
        self.violations.extend(out["violations"])  # type: ignore[arg-type]
        self.from_kept += int(out.get("from_kept", 0))  # type: ignore[call-overload]

    @property
    def distinct(self) -> int:
        return len(self.other_shapes | {_digest(k) for k in self.verdicts})

    def check(self, sql: str) -> None:
        t0 = time.perf_counter()
        self.statements += 1
        verdict = self.verdicts.get(sql)  # a statement with parameters only: its text is its shape
        if verdict is None:
            shape = shape_of(sql)
            verdict = self.verdicts.get(shape)
            if verdict is None:
                t1 = time.perf_counter()
                key = _kept_digest(shape)
                verdict = self.kept.get(key)
                if verdict is None:
                    verdict = self.worked_out[key] = self._verdict(shape)
                else:
                    self.from_kept += 1
                self.verdicts[shape] = verdict
                self.parse_seconds += time.perf_counter() - t1
        if verdict:
            origin = _origin()
            if origin is not None:
                self.violations.append(f"{'; '.join(verdict)} without a tenant_id predicate, from {origin}:\n    {sql}")
        self.seconds += time.perf_counter() - t0

    @staticmethod
    def _verdict(sql: str) -> tuple[str, ...]:
        dml = _DML.match(sql)
        if not dml or not _MENTIONS.search(sql):
            return ()
        if dml.group(1).upper() == "INSERT" and not _READS.search(sql):
            return ()  # INSERT … VALUES: its rows name their tenant (a bulk one is too long to tokenize cheaply)
        return tuple(problems(sql))


def _frames() -> Iterator[FrameType]:
    """This stack, then the stacks of the greenlets it runs under (SQLAlchemy's asyncio layer runs
    the sync engine in a child greenlet; the caller's coroutines sit in the parent's frames)."""
    import greenlet

    f: FrameType | None = sys._getframe(1)
    g: Any = greenlet.getcurrent()
    while True:
        while f is not None:
            yield f
            f = f.f_back
        g = g.parent
        if g is None:
            return
        f = g.gr_frame


def _origin() -> str | None:
    """Where in the repository a statement came from (its nearest repository frames, file:line), or
    None when the nearest one is in tests/ (a test sent it itself)."""
    where: list[str] = []
    for f in _frames():
        path = f.f_code.co_filename
        if path == _SELF or not path.startswith(str(ROOT)) or path.startswith(_VENV):
            continue
        if not where and path.startswith(_TESTS):
            return None
        where.append(f"{Path(path).relative_to(ROOT)}:{f.f_lineno}")
        if len(where) == 4:
            break
    return " < ".join(where) or "(no repository frame)"


CHECKER = Checker()


def cache_dir() -> Path | None:
    """Where this checker's verdicts are kept (None: GONGZHI_TENANT_PREDICATES_CACHE=0)."""
    if os.environ.get("GONGZHI_TENANT_PREDICATES_CACHE", "1") == "0":
        return None
    return CACHE_ROOT / cache_key()


def install() -> None:
    """Check every PostgreSQL statement of the process (called once by tests/conftest.py)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    import tenants.session as ts

    def before(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if conn.dialect.name == "postgresql":
            CHECKER.check(statement)

    event.listen(Engine, "before_cursor_execute", before)
    original = ts._fetchrow

    async def fetchrow(connection: Any, sql: str, args: tuple[Any, ...]) -> Any:
        CHECKER.check(sql)
        return await original(connection, sql, args)

    ts._fetchrow = fetchrow  # type: ignore[assignment]
