"""recategoriseCase (改类, issue #23) in GraphQL: its own module beside the case mutations."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from resolvers import cases as case_service
from resolvers.ids import decode_id
from schema.cases.inputs import CasePayload
from schema.cases.types import Case
from schema.common import context, mutate, mutation


@strawberry.input(description="Move an open case to another category (事件改类).")
class RecategoriseCaseInput:
    id: strawberry.ID = strawberry.field(description="The case (open: not resolved, closed, rejected or withdrawn).")
    category: str = strawberry.field(description="Code of an active case category (see caseCategories).")
    note: str | None = strawberry.field(default=None, description="Why, for the timeline (optional).")
    expected_version: int | None = strawberry.field(default=None, description="Fail with CONFLICT if it changed.")


@strawberry.type
class CaseRecategoriseMutation:
    @mutation(description="Recategorise an open case (改类): dispatchers in scope; the timeline and the audit "
                          "log keep the old and the new category. A due time already set stays.")
    async def recategorise_case(self, info: Info, input: RecategoriseCaseInput) -> CasePayload:
        async def run() -> Any:
            return await case_service.recategorise_case(
                context(info), decode_id(input.id, "Case", "id"), category=input.category, note=input.note,
                expected_version=input.expected_version)

        case, errors = await mutate(info, run)
        return CasePayload(case=None if case is None else Case(_m=case), errors=errors)
