"""The audit log (审计日志) in GraphQL."""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info

from models import AuditEntry as AuditRow
from resolvers import loaders
from schema.common import Node, context, field, graphql_enum, legacy_string_reason
from schema.register import User


class MutationOutcome(enum.Enum):
    OK = "ok"
    REFUSED = "refused"
    ERROR = "error"


class AuditOperation(enum.Enum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"


graphql_enum(MutationOutcome, name="MutationOutcome",
             description="How an audited mutation ended (结果): written, refused with a typed error, or failed.")
graphql_enum(AuditOperation, name="AuditOperation", description="What a mutation did to a row (操作).")

E = TypeVar("E", bound=enum.Enum)


def _known(kind: type[E], value: str) -> E | None:
    try:
        return kind(value)
    except ValueError:
        return None

@strawberry.type(description="One changed column: before → after, as JSON text (personal data masked).")
class AuditFieldChange:
    name: str = strawberry.field(description="Column.")
    before: str | None = strawberry.field(description="Value before, JSON text; null for a new row.")
    after: str | None = strawberry.field(description="Value after, JSON text.")


@strawberry.type(description="A row a mutation inserted or changed.")
class AuditChange:
    table: str = strawberry.field(description="Table.")
    id: strawberry.ID = strawberry.field(description="Row id (uuid).")
    op: str = strawberry.field(description="insert or update.", deprecation_reason=legacy_string_reason("operation"))
    operation: AuditOperation | None = strawberry.field(default=None, description="What was done to the row (操作).")
    fields: list[AuditFieldChange] = strawberry.field(description="Changed columns.")


@strawberry.type(description="An audit log entry (审计记录): who, in which role, did or read what, when, from where. "
                             "Append-only.")
class AuditEntry(Node):
    _m: strawberry.Private[AuditRow]

    @field(description="The mutation's name (e.g. updatePerson) or person.read_pii for a full read.")
    def action(self) -> str:
        return self._m.action

    @field(description="ok, refused (a typed error, nothing written) or error; null for reads.",
           deprecation_reason=legacy_string_reason("result"))
    def outcome(self) -> str | None:
        # detail is the JSON resolvers/audit/service.py writes; narrowed, not trusted blindly
        outcome = self._m.detail.get("outcome")
        return outcome if isinstance(outcome, str) else None

    @field(description="How the mutation ended (结果); null for reads.")
    def result(self) -> MutationOutcome | None:
        outcome = self._m.detail.get("outcome")
        return _known(MutationOutcome, outcome) if isinstance(outcome, str) else None

    @field(description="Error codes of a refused mutation.")
    def errors(self) -> list[str]:
        errors = self._m.detail.get("errors", [])
        return [str(e) for e in errors] if isinstance(errors, list) else []

    @field(description="Table of the (first) object concerned.")
    def object_type(self) -> str:
        return self._m.object_type

    @field(description="Ids of the rows concerned (changed, or read in full).")
    def object_ids(self) -> list[strawberry.ID]:
        return [strawberry.ID(i) for i in self._m.object_ids]

    @field(description="What changed, row by row.")
    def changes(self) -> list[AuditChange]:
        out: list[AuditChange] = []
        changes = self._m.detail.get("changes", [])
        for c in changes if isinstance(changes, list) else []:
            fields = [AuditFieldChange(name=k, before=None if v[0] is None else json.dumps(v[0], ensure_ascii=False),
                                       after=None if v[1] is None else json.dumps(v[1], ensure_ascii=False))
                      for k, v in c["fields"].items()]
            out.append(AuditChange(table=c["table"], id=strawberry.ID(c["id"]), op=c["op"],
                                   operation=_known(AuditOperation, c["op"]), fields=fields))
        return out

    @field(description="Who (操作人).")
    async def user(self, info: Info) -> User | None:
        if self._m.user_id is None:
            return None
        u = await loaders.user_by_id(context(info)).load(self._m.user_id)
        return None if u is None else User(username=u.username, display_name=u.display_name)

    @field(description="The roles the user held (comma-separated).")
    def roles(self) -> str:
        return self._m.roles

    @field(description="Request id (for correlating with logs).")
    def request_id(self) -> str | None:
        return self._m.request_id

    @field(description="Client address.")
    def client_addr(self) -> str | None:
        return self._m.client_addr

    @field(description="When.")
    def at(self) -> datetime:
        return self._m.created_at


def wrap(m: Any) -> AuditEntry:
    return AuditEntry(_m=m)
