"""Running a query on both read paths: compiled, then through strawberry's resolvers."""

from __future__ import annotations

from typing import Any

import orjson

import gongzhi.http.graphql as app_module
from tests.support.harness import Api
from tests.support.world import TenantWorld


async def both(api: Api, tw: TenantWorld, user: str, query: str, variables: dict[str, Any]
               ) -> tuple[bytes, bytes, bool]:
    """(compiled response, resolver response, whether the compiled path was taken), re-serialised."""
    token = api.token(tw, user)
    made: list[Any] = []
    real = app_module.compile_request

    def spy(*args: Any, **kw: Any) -> Any:
        made.append(out := real(*args, **kw))
        return out

    app_module.compile_request = spy  # type: ignore[assignment]
    try:
        r1 = await api.post(query, variables, token=token)
    finally:
        app_module.compile_request = real  # type: ignore[assignment]
    state = api.client._transport.app.state.gongzhi  # type: ignore[attr-defined]
    state.compiled_reads = False
    try:
        r2 = await api.post(query, variables, token=token)
    finally:
        state.compiled_reads = True
    assert r1.status_code == r2.status_code, (r1.text, r2.text)
    return orjson.dumps(r1.json()), orjson.dumps(r2.json()), bool(made and made[0] is not None)
