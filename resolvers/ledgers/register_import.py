"""Household register import (户籍/实有人口登记导入, issue #11): one row per person, from XLSX or CSV.

The file is read whole, every row is checked before anything is written (required fields, ID number
check character GB 11643, phone format, known building, scope, duplicates in the file and against
the register by the blind index of the ID number), and a report in the file's own layout with an
added 错误原因/error column names each bad row and its reason. Only a file without a bad row is
imported, in the caller's one transaction, with bulk inserts (no per-row ORM flush). A person whose
ID number is already registered under the same name and household is left unchanged, so sending a
file twice changes nothing the second time. The import adds; it never updates or deletes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import insert, select

from models import Area, CareTagKind, Household, Person, PersonCareTag, Tenure, uuid7
from models.sealing import KEYRING
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.ledgers.register_areas import AreaIndex, AreaNode, create_path, in_scope
from resolvers.ledgers.register_file import (
    BY_KEY,
    COLUMNS,
    ERROR_HEADER,
    SHEET_NAME,
    build_report,
    read_file,
    template_xlsx,
)
from resolvers.ledgers.register_jobs import (
    OPERATOR_ID,
    JobTracker,
    audit_import,
    check_may_import,
    file_sha256,
    get_job,
    new_job,
    summary,
)
from resolvers.ledgers.register_rows import Outcome, Row, parse_row

# Callers outside this package (gongzhi/http/ledgers.py, gongzhi/cli/ledgers.py, schema/query.py,
# bench/, tests/) name this module for the import's parts that now live in its sibling modules; they
# stay reachable here until those callers use the package's public module (resolvers.ledgers).
__all__ = [
    "BATCH",
    "COLUMNS",
    "ERROR_HEADER",
    "KEYRING",
    "OPERATOR_ID",
    "SHEET_NAME",
    "WHOLE_REGISTER_ROWS",
    "JobTracker",
    "Outcome",
    "Progress",
    "audit_import",
    "check_and_import",
    "file_sha256",
    "get_job",
    "new_job",
    "summary",
    "template_xlsx",
]


BATCH = 5000
WHOLE_REGISTER_ROWS = 2000


Progress = Callable[[str, int, int], Awaitable[None]]  # (phase, processed, total)


async def _no_progress(_phase: str, _done: int, _total: int) -> None:
    return None


async def check_and_import(
    ctx: RequestContext, content: bytes, file_name: str, *, dry_run: bool, create_areas: bool,
    progress: Progress = _no_progress,
) -> Outcome:
    """Check every row; unless a row failed or this is a dry run, write everything in ``ctx``'s
    transaction (the caller commits). Raises ImportFileError when the file cannot be read at all."""
    check_may_import(ctx)
    t0 = time.perf_counter()
    sheet = read_file(content, file_name)
    out = Outcome(total=len(sheet.rows), report_ext=sheet.kind)
    out.timings["read"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    await progress("validating", 0, out.total)
    db = ctx.db

    tag_codes: dict[str, str] = {}
    for code, name in await db.all(select(CareTagKind.code, CareTagKind.name)):
        tag_codes[code] = tag_codes[code.lower()] = code
        tag_codes[name] = code
    areas = AreaIndex(
        AreaNode(i, p, k, n, path, d)
        for i, p, k, n, path, d in await db.all(
            select(Area.id, Area.parent_id, Area.kind, Area.name, Area.path, Area.depth))
    )

    rows: list[Row] = []
    first_of_id: dict[str, int] = {}
    for i, (number, r) in enumerate(zip(sheet.row_numbers, sheet.rows, strict=True)):
        row, reasons = parse_row(sheet, number, r, tag_codes)
        if row is not None:
            seen = first_of_id.get(row.id_index)
            if seen is not None:
                reasons.append(f"身份证号与第{seen}行重复 (ID number repeats row {seen})")
            else:
                first_of_id[row.id_index] = number
                rows.append(row)
        if reasons:
            out.errors[number] = reasons
        if i % BATCH == BATCH - 1:
            await progress("validating", i + 1, out.total)

    out.timings["check"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    # Buildings: known ones must lie in scope; unknown ones are an error unless areas may be created.
    building_of: dict[tuple[str, str, str], AreaNode] = {}
    bad: dict[tuple[str, str, str], str] = {}
    new_areas: list[AreaNode] = []
    for row in rows:
        key = row.building_key
        if key in building_of or key in bad:
            continue
        found = areas.buildings.get(key, [])
        reason = None
        if len(found) > 1:
            reason = f"楼栋名称不唯一 (ambiguous building): {'/'.join(x for x in key if x)}"
        elif found:
            if not in_scope(found[0].path, ctx):
                reason = f"不在您的管辖范围 (outside your scope): {'/'.join(x for x in key if x)}"
            else:
                building_of[key] = found[0]
        elif not create_areas:
            reason = f"楼栋不存在 (unknown building): {'/'.join(x for x in key if x)}"
        else:
            reason, made = create_path(areas, key, ctx)
            new_areas.extend(made)
            if reason is None:
                building_of[key] = areas.buildings[key][0]
        if reason is not None:
            bad[key] = reason
    for row in rows:
        if row.building_key in bad:
            out.errors.setdefault(row.number, []).append(bad[row.building_key])
    rows = [r for r in rows if r.building_key in building_of and r.number not in out.errors]

    # Households: existing ones are reused; the rows of one household must agree on its fields.
    existing_h: dict[tuple[uuid.UUID, str, str], uuid.UUID] = {}
    building_ids = list({b.id for b in building_of.values() if not b.new})
    # A large file reads the tenant's households and persons once, in one scan each: long IN lists
    # on freshly bulk-loaded tables (statistics not yet gathered) get nested-loop plans that crawl.
    whole = len(rows) >= WHOLE_REGISTER_ROWS
    h_cols = select(Household.id, Household.building_id, Household.unit, Household.room)
    for ids in [building_ids] if whole else _chunks(building_ids, 1000):
        if not ids:
            continue
        for hid, bid, unit, room in await db.all(h_cols if whole else h_cols.where(Household.building_id.in_(ids))):
            existing_h[(bid, unit, room)] = hid
    households: dict[tuple[uuid.UUID, str, str], dict[str, Any]] = {}
    for row in rows:
        hkey = (building_of[row.building_key].id, row.unit, row.room)
        h = households.get(hkey)
        if h is None:
            households[hkey] = {"floor_area": row.floor_area, "tenure": row.tenure, "row": row.number,
                                "id": existing_h.get(hkey)}
            continue
        for attr in ("floor_area", "tenure"):
            mine, theirs = getattr(row, attr), h[attr]
            if mine is not None and theirs is not None and mine != theirs:
                out.errors.setdefault(row.number, []).append(
                    f"{BY_KEY[attr].zh}与第{h['row']}行同一住户不一致 "
                    f"({attr} differs from row {h['row']}, same household)")
            elif theirs is None:
                h[attr] = mine

    # Persons already on the register (found by the blind index of the ID number).
    known: dict[str, tuple[str, uuid.UUID | None]] = {}
    p_cols = select(Person.id_card_index, Person.name, Person.household_id)
    if whole:
        wanted = set(first_of_id)
        for idx, name, hid in await db.all(p_cols.where(Person.id_card_index.is_not(None))):
            if idx in wanted:
                known[idx] = (name, hid)
    else:
        for chunk in _chunks([r.id_index for r in rows], BATCH):
            for idx, name, hid in await db.all(p_cols.where(Person.id_card_index.in_(chunk))):
                known[idx] = (name, hid)
    to_create: list[Row] = []
    for row in rows:
        if row.number in out.errors:
            continue
        hit = known.get(row.id_index)
        if hit is None:
            to_create.append(row)
            continue
        hkey = (building_of[row.building_key].id, row.unit, row.room)
        if hit[0] == row.name and hit[1] is not None and hit[1] == existing_h.get(hkey):
            out.unchanged += 1
        else:
            out.errors.setdefault(row.number, []).append(
                "身份证号已登记在其他住户或姓名不同 (ID number already registered with another name or household)")
    await progress("validating", out.total, out.total)
    out.timings["lookup"] = time.perf_counter() - t0

    if out.errors:
        out.report = build_report(sheet, out.errors)
        return out
    used_h = {(building_of[r.building_key].id, r.unit, r.room) for r in to_create}
    new_h = {k: h for k, h in households.items() if h["id"] is None and k in used_h}
    out.created_areas = len(new_areas)
    out.created_households = len(new_h)
    out.created_persons = len(to_create)
    if dry_run or (not new_areas and not to_create):
        return out

    # -- write: bulk inserts in the caller's transaction
    t0 = time.perf_counter()
    await progress("importing", 0, out.total)
    tenant_id, now = ctx.tenant.id, ctx.now
    if new_areas:
        await _insert(db, Area, [
            {"tenant_id": tenant_id, "id": a.id, "created_at": now, "parent_id": a.parent_id, "kind": a.kind,
             "name": a.name, "path": a.path, "depth": a.depth, "version": 1}
            for a in new_areas])
    for h in new_h.values():
        h["id"] = uuid7()
    await _insert(db, Household, [
        {"tenant_id": tenant_id, "id": h["id"], "created_at": now, "building_id": k[0], "unit": k[1], "room": k[2],
         "floor_area": h["floor_area"], "tenure": h["tenure"] or Tenure.OWNER, "version": 1}
        for k, h in new_h.items()])
    done = 0
    for chunk in _chunks(to_create, BATCH):
        persons: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        for row in chunk:
            pid = uuid7()
            hkey = (building_of[row.building_key].id, row.unit, row.room)
            persons.append({
                "tenant_id": tenant_id, "id": pid, "created_at": now, "household_id": households[hkey]["id"],
                "name": row.name, "gender": row.gender, "birth_date": v.birth_date_of(row.id_card_no),
                "id_card_no": row.id_card_no, "id_card_index": row.id_index, "phone": row.phone,
                "phone_index": KEYRING.blind_index(row.phone) if row.phone else None,
                # the masked display forms the ORM sets in Person._index (migration 0020)
                "id_card_masked": v.mask_id_card(row.id_card_no), "phone_masked": v.mask_phone(row.phone),
                "relation_to_head": row.relation_to_head, "party_member": row.party_member,
                "in_service_party_member": False, "version": 1,
            })
            tags.extend({"tenant_id": tenant_id, "id": uuid7(), "created_at": now, "person_id": pid, "code": t}
                        for t in row.care_tags)
        await _insert(db, Person, persons)
        await _insert(db, PersonCareTag, tags)
        done += len(chunk)
        await progress("importing", done, len(to_create))
    out.written = True
    out.timings["write"] = time.perf_counter() - t0
    return out


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# asyncpg takes at most 32767 parameters per statement.
MAX_PARAMETERS = 32767
ROWS_PER_STATEMENT = 200  # 2,000 persons: 0.7–1.0 s of inserts (1,700 rows a statement: 1.6 s; unnest: 0.9–1.3 s)


async def _insert(db: Any, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Bulk insert, no ORM unit of work. On PostgreSQL multi-row ``INSERT … VALUES ($1, …), (…)``
    statements (as many rows as the driver's parameter limit allows, up to ``BATCH``): Citus routes
    them to the tenant's shard (issue #27; the ``INSERT … SELECT FROM unnest(arrays)`` used before
    became a COPY there, refused on tables with row-level security, as plain COPY is everywhere);
    elsewhere a Core executemany. Column types still apply their bind processing (the Sealed columns
    seal, enums store their values, timestamps go to UTC)."""
    if not rows:
        return
    table = model.__table__
    dialect = db.session.bind.dialect
    if dialect.name != "postgresql":
        for chunk in _chunks(rows, BATCH):
            await db.locked(lambda c=chunk: db.session.execute(insert(table), list(c)))
        return
    cols = list(rows[0])
    casts, procs = [], []
    for c in cols:
        col_type = table.c[c].type
        casts.append(col_type.compile(dialect=dialect))
        procs.append(col_type._cached_bind_processor(dialect))
    per_statement = max(1, min(ROWS_PER_STATEMENT, MAX_PARAMETERS // len(cols)))
    statements: dict[int, str] = {}

    def sql(n: int) -> str:  # the statement for n rows (two texts per table: full batches and the rest)
        if n not in statements:
            values = ", ".join(
                "(" + ", ".join(f"${r * len(cols) + i + 1}::{t}" for i, t in enumerate(casts)) + ")" for r in range(n))
            statements[n] = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES {values}"
        return statements[n]

    def parameters(chunk: Sequence[dict[str, Any]]) -> tuple[str, tuple[Any, ...]]:
        flat = [r[c] if proc is None else proc(r[c]) for r in chunk for c, proc in zip(cols, procs, strict=True)]
        return sql(len(chunk)), tuple(flat)

    async def send(statement: str, args: tuple[Any, ...]) -> None:
        conn = await db.session.connection()
        await conn.exec_driver_sql(statement, args)

    # The next batch is sealed and encoded in a thread while the database inserts this one.
    pending: asyncio.Future[Any] | None = None
    for chunk in _chunks(rows, per_statement):
        statement, args = await asyncio.to_thread(parameters, chunk)
        if pending is not None:
            await pending
        pending = asyncio.ensure_future(db.locked(lambda s=statement, a=args: send(s, a)))
    if pending is not None:
        await pending
