"""The household register: households and persons, read within reach, written within scope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, delete, exists, select

from models import (
    Area,
    AreaKind,
    AuditEntry,
    CareTagKind,
    Gender,
    Household,
    Person,
    PersonCareTag,
    PersonStatus,
    Tenure,
    uuid7,
)
from models.sealing import KEYRING
from policies.filters import (
    area_read_predicate,
    building_predicate,
    buildings_in_scope,
    household_predicate,
    person_predicate,
)
from resolvers import validation as v
from resolvers.context import RequestContext
from resolvers.errors import ErrorCode, FieldErrors, ServiceError, check_version
from resolvers.i18n import t
from resolvers.pagination import Key, ListOrder, Page, keyset_page, sorted_page

_UNSET: object = object()


async def _area_path(ctx: RequestContext, area_id: uuid.UUID) -> str:
    path = await ctx.db.scalar(select(Area.path).where(Area.id == area_id))
    if path is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("区域不存在", "area not found"), "areaId")
    return str(path)


async def list_households(
    ctx: RequestContext,
    *,
    area_id: uuid.UUID | None = None,
    search: str | None = None,
    first: int | None = None,
    after: str | None = None,
) -> Page[Household]:
    grant = ctx.actor.grant("household", "read")
    stmt = select(Household).where(household_predicate(grant, ctx.actor))
    if area_id is not None:
        stmt = stmt.where(Household.building_id.in_(buildings_in_scope((await _area_path(ctx, area_id),))))
    if search:
        term = v.text(search, "search", max_len=50)
        # Room numbers are personal data: searching by them needs the full-read right.
        pii = household_predicate(ctx.actor.grant("person", "read_pii"), ctx.actor)
        stmt = stmt.where(Household.room.contains(term), pii)
    return await keyset_page(ctx.db, stmt, Household.id, first=first, after=after)


async def list_persons(
    ctx: RequestContext,
    *,
    area_id: uuid.UUID | None = None,
    household_id: uuid.UUID | None = None,
    care_tag: str | None = None,
    party_member: bool | None = None,
    search: str | None = None,
    id_card_no: str | None = None,
    phone: str | None = None,
    first: int | None = None,
    after: str | None = None,
    archived: bool = False,
) -> Page[Person]:
    """Persons on the current register; with ``archived``, those moved out or deceased (issue #23)."""
    stmt = select(Person)
    if id_card_no is not None or phone is not None:
        stmt = _by_identifier(ctx, stmt, id_card_no, phone)
    path = None if area_id is None else await _area_path(ctx, area_id)
    term = v.text(search, "search", max_len=50) if search else None
    stmt = stmt.where(*person_list_filters(ctx, archived=archived, area_path=path, household_id=household_id,
                                           care_tag=care_tag, party_member=party_member, search=term))
    return await keyset_page(ctx.db, stmt, Person.id, first=first, after=after)


def person_list_filters(ctx: RequestContext, *, archived: bool, area_path: str | ColumnElement[str] | None,
                        household_id: uuid.UUID | ColumnElement[uuid.UUID] | None,
                        care_tag: str | ColumnElement[str] | None, party_member: bool | None,
                        search: str | ColumnElement[str] | None,
                        readable: ColumnElement[bool] | None = None) -> list[ColumnElement[bool]]:
    """The persons list's rows (by id): readable, on the current register or archived, in the area's
    subtree, of the household, of the care group (only among persons read in full: care groups are
    personal data), party members or not, the name containing ``search`` (already checked). The
    compiled read (compiled/persons.py) filters with this too, with the values as SQL expressions and
    ``readable``, the read predicate in a form of its own (the same persons)."""
    current = Person.status == PersonStatus.ACTIVE
    if readable is None:
        readable = person_predicate(ctx.actor.grant("person", "read"), ctx.actor)
    filters = [readable, ~current if archived else current]
    if area_path is not None:
        # policies.filters types the scope paths as literal strings; startswith takes an expression as well.
        in_scope = buildings_in_scope((area_path,))  # type: ignore[arg-type]  # a str or a path expression
        filters.append(Person.household_id.in_(select(Household.id).where(Household.building_id.in_(in_scope))))
    if household_id is not None:
        filters.append(Person.household_id == household_id)
    if care_tag is not None:
        filters += [exists().where(PersonCareTag.person_id == Person.id, PersonCareTag.code == care_tag),
                    person_predicate(ctx.actor.grant("person", "read_pii"), ctx.actor)]
    if party_member is not None:
        filters.append(Person.party_member.is_(party_member))
    if search is not None:
        filters.append(Person.name.contains(search))
    return filters


def _by_identifier(ctx: RequestContext, stmt: Select[Person], id_card_no: str | None,
                   phone: str | None) -> Select[Person]:
    """Exact lookup by ID number or phone through their blind indexes (the sealed values are never
    compared): only among persons the actor may read in full, and audited (``person.lookup``, the kind
    of identifier — never its value) — finding a person by an identifier is a use of it."""
    errors = FieldErrors()
    card = number = None
    if id_card_no is not None:
        with errors.catch():
            card = v.normalize_id_card(id_card_no, "idCardNo")
    if phone is not None:
        with errors.catch():
            number = v.normalize_phone(phone, "phone")
    errors.raise_if_any()
    if card is not None:
        stmt = stmt.where(Person.id_card_index == KEYRING.blind_index(card))
    if number is not None:
        stmt = stmt.where(Person.phone_index == KEYRING.blind_index(number))
    ctx.audit.append(AuditEntry(
        user_id=ctx.actor.user_id, roles=",".join(r.value for r in ctx.actor.roles), action="person.lookup",
        object_type="person", object_ids=[],
        detail={"by": [k for k, val in (("idCardNo", card), ("phone", number)) if val is not None]},
        request_id=ctx.request_id, client_addr=ctx.client_addr, created_at=ctx.now))
    return stmt.where(person_predicate(ctx.actor.grant("person", "read_pii"), ctx.actor))


# -- households


@dataclass
class HouseholdFields:
    unit: str | None = None
    room: str | None = None
    floor_area: str | None = None
    tenure: Tenure | None = None
    note: str | None = None
    expected_version: int | None = None


def _floor_area(value: str) -> Decimal:
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise ServiceError(ErrorCode.INVALID, t("floorArea 应为平方米数",
                                                "floorArea must be a number of square metres"), "floorArea") from None
    if not (Decimal("0") < d < Decimal("100000")) or d.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ServiceError(ErrorCode.INVALID, t("floorArea 应为正数，最多两位小数",
                                                "floorArea must be positive with at most 2 decimals"), "floorArea")
    return d


def _apply_household(h: Household, f: HouseholdFields) -> None:
    errors = FieldErrors()
    for attr, fn in (
        ("unit", lambda x: v.text(x, "unit", max_len=16, required=False)),
        ("room", lambda x: v.text(x, "room", max_len=16)),
        ("floor_area", _floor_area),
        ("note", lambda x: v.text(x, "note", max_len=500, required=False) or None),
    ):
        value = getattr(f, attr)
        if value is None:
            continue
        with errors.catch():
            setattr(h, attr, fn(value))
    errors.raise_if_any()
    if f.tenure is not None:
        h.tenure = f.tenure


async def _writable_household(ctx: RequestContext, household_id: uuid.UUID, resource: str, field: str) -> Household:
    read = household_predicate(ctx.actor.grant("household", "read"), ctx.actor)
    h: Household | None = await ctx.db.scalar(select(Household).where(Household.id == household_id, read))
    if h is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("户不存在", "household not found"), field)
    grant = ctx.actor.grant(resource, "write")
    if not grant or await ctx.db.scalar(
        select(Household.id).where(Household.id == household_id, household_predicate(grant, ctx.actor))
    ) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权修改该户", "you may not change this household"), field)
    return h


async def create_household(ctx: RequestContext, *, building_id: uuid.UUID, fields: HouseholdFields) -> Household:
    if fields.room is None:
        raise ServiceError(ErrorCode.INVALID, t("房号不能为空", "room must not be empty"), "room")
    readable = area_read_predicate(ctx.actor.grant("area", "read"), ctx.actor)
    building: Area | None = await ctx.db.scalar(select(Area).where(Area.id == building_id, readable))
    if building is None or building.kind is not AreaKind.BUILDING:
        raise ServiceError(ErrorCode.NOT_FOUND, t("楼栋不存在", "building not found"), "buildingId")
    grant = ctx.actor.grant("household", "write")
    if not grant or await ctx.db.scalar(
        select(Area.id).where(Area.id == building_id, building_predicate(Area.id, grant, ctx.actor))
    ) is None:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权在该楼栋登记户",
                                                  "you may not register households in this building"), "buildingId")
    h = Household(building_id=building_id, unit="", room="")
    _apply_household(h, fields)
    await _check_unique_room(ctx, h)
    await ctx.db.flush(h)
    return h


async def _check_unique_room(ctx: RequestContext, h: Household) -> None:
    clash = await ctx.db.scalar(
        select(Household.id).where(
            Household.building_id == h.building_id, Household.unit == h.unit, Household.room == h.room,
            Household.id != h.id if h.id is not None else Household.id.is_not(None),
        )
    )
    if clash is not None:
        raise ServiceError(ErrorCode.CONFLICT, t("该楼栋的这一单元和房号已有户",
                                                 "this building already has a household at that unit and room"), "room")


async def update_household(ctx: RequestContext, household_id: uuid.UUID, fields: HouseholdFields) -> Household:
    h = await _writable_household(ctx, household_id, "household", "id")
    check_version(fields.expected_version, h.version)
    _apply_household(h, fields)
    await _check_unique_room(ctx, h)
    await ctx.db.flush(h)
    return h


# -- persons


@dataclass
class PersonFields:
    name: str | None = None
    gender: Gender | None = None
    id_card_no: object = _UNSET  # str | None; None clears
    phone: object = _UNSET
    relation_to_head: str | None = None
    party_member: bool | None = None
    in_service_party_member: bool | None = None
    care_tags: list[str] | None = None
    expected_version: int | None = None
    contact_only: set[str] = field(default_factory=lambda: {"phone"})

    def touched(self) -> set[str]:
        out = {k for k in ("name", "gender", "relation_to_head", "party_member", "in_service_party_member",
                           "care_tags") if getattr(self, k) is not None}
        out |= {k for k in ("id_card_no", "phone") if getattr(self, k) is not _UNSET}
        return out


async def _apply_person(ctx: RequestContext, p: Person, f: PersonFields) -> list[str] | None:
    errors = FieldErrors()
    if f.name is not None:
        p.name = errors.check(v.text, f.name, "name", max_len=50) or p.name
    if f.relation_to_head is not None:
        p.relation_to_head = errors.check(lambda x: v.text(x, "relationToHead", max_len=20, required=False) or None,
                                          f.relation_to_head)
    if f.id_card_no is not _UNSET:
        if f.id_card_no is None or f.id_card_no == "":
            p.id_card_no = None
        else:
            p.id_card_no = errors.check(v.normalize_id_card, cast(str, f.id_card_no))
            if p.id_card_no:
                p.birth_date = v.birth_date_of(p.id_card_no)
    if f.phone is not _UNSET:
        p.phone = None if not f.phone else errors.check(v.normalize_phone, cast(str, f.phone))
    tags: list[str] | None = None
    if f.care_tags is not None:
        tags = sorted(set(f.care_tags))
        if tags:
            known = set(await ctx.db.scalars(select(CareTagKind.code).where(CareTagKind.code.in_(tags))))
            unknown = [t for t in tags if t not in known]
            if unknown:
                errors.add(ErrorCode.INVALID, t(f"未知的关爱标签：{'、'.join(unknown)}",
                                                f"unknown care tag(s): {', '.join(unknown)}"),
                           "careTags")
    errors.raise_if_any()
    if f.gender is not None:
        p.gender = f.gender
    if f.party_member is not None:
        p.party_member = f.party_member
    if f.in_service_party_member is not None:
        p.in_service_party_member = f.in_service_party_member
    if p.id_card_no:
        clash = await ctx.db.scalar(
            select(Person.id).where(Person.id_card_index == p.id_card_index,
                                    Person.id != p.id if p.id is not None else Person.id.is_not(None))
        )
        if clash is not None:
            raise ServiceError(ErrorCode.CONFLICT, t("该身份证号的居民已登记",
                                                     "a person with this ID number is already registered"), "idCardNo")
    return tags


async def _replace_tags(ctx: RequestContext, person_id: uuid.UUID, tags: list[str] | None) -> None:
    if tags is None:
        return
    await ctx.db.execute(delete(PersonCareTag).where(PersonCareTag.person_id == person_id))
    await ctx.db.flush(*(PersonCareTag(person_id=person_id, code=t) for t in tags))


async def create_person(ctx: RequestContext, *, household_id: uuid.UUID, fields: PersonFields) -> Person:
    if fields.name is None:
        raise ServiceError(ErrorCode.INVALID, t("姓名不能为空", "name must not be empty"), "name")
    await _writable_household(ctx, household_id, "person", "householdId")
    p = Person(household_id=household_id, name="", party_member=False, in_service_party_member=False)
    tags = await _apply_person(ctx, p, fields)
    p.id = uuid7()
    await ctx.db.flush(p)
    await _replace_tags(ctx, p.id, tags)
    return p


async def update_person(ctx: RequestContext, person_id: uuid.UUID, fields: PersonFields) -> Person:
    actor = ctx.actor
    p: Person | None = await ctx.db.scalar(
        select(Person).where(Person.id == person_id, person_predicate(actor.grant("person", "read"), actor))
    )
    if p is None:
        raise ServiceError(ErrorCode.NOT_FOUND, t("居民不存在", "person not found"), "id")
    touched = fields.touched()
    allowed = False
    for action, limited_to in (("write", None), ("write_contact", fields.contact_only)):
        if limited_to is not None and not touched <= limited_to:
            continue
        grant = actor.grant("person", action)
        if grant and await ctx.db.scalar(
            select(Person.id).where(Person.id == person_id, person_predicate(grant, actor))
        ) is not None:
            allowed = True
            break
    if not allowed:
        raise ServiceError(ErrorCode.FORBIDDEN, t("您无权修改该居民", "you may not change this person"), "id")
    check_version(fields.expected_version, p.version)
    tags = await _apply_person(ctx, p, fields)
    await ctx.db.flush(p)
    await _replace_tags(ctx, p.id, tags)
    return p


CARE_TAG_KINDS = ListOrder("careTagKinds", (Key(CareTagKind.code), Key(CareTagKind.id)))


def care_tag_kind_rows(_ctx: RequestContext) -> Select[Any]:
    """The care groups, to everyone: the list, its connection, the compiled read."""
    return select(CareTagKind)


async def care_tag_kinds(ctx: RequestContext) -> list[CareTagKind]:
    return list(await ctx.db.scalars(care_tag_kind_rows(ctx).order_by(*CARE_TAG_KINDS.order_by())))


async def care_tag_kinds_page(ctx: RequestContext, *, first: int | None, after: str | None) -> Page[CareTagKind]:
    return await sorted_page(ctx.db, care_tag_kind_rows(ctx), CARE_TAG_KINDS, first=first, after=after)
