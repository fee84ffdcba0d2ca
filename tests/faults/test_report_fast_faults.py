"""reportCase on the driver (gongzhi/http/fast_writes.py, issue #21) when its backend dies between the report's
checks and its rows: 503 SERVICE_UNAVAILABLE, nothing written, and the client's retry with the same key writes
the case once; after every backend was terminated while idle, the report is answered (BEGIN sent again)."""

from __future__ import annotations

import uuid
from typing import Any

import resolvers.cases as case_service
from resolvers.ids import encode_global_id
from tests.support.faults import FaultDb, answered, app_on, unavailable

DOC = ("mutation R($input: ReportCaseInput!) { reportCase(input: $input) { case { id number state } "
       "errors { code message field } } }")


async def test_a_backend_lost_before_the_rows_writes_nothing_and_the_retry_writes_once(fdb: FaultDb) -> None:
    tw = fdb.tw
    data = {"areaId": encode_global_id("Building", tw.areas["B1"]), "category": "garbage", "title": "断线",
            "idempotencyKey": uuid.uuid4().hex}
    async with app_on(fdb) as app:
        token = app.api.token(tw, "resident")
        answered(await app.api.post(DOC, {"input": {**data, "idempotencyKey": "warm"}}, token=token))
        before = await fdb.cases()
        real = case_service.prepare_report
        taken: list[bool] = []

        async def then_lost(ctx: Any, report: Any) -> Any:
            out = await real(ctx, report)
            taken.append(out is not None)
            if out is not None:
                await fdb.terminate(ctx.db.session.info["driver_transaction"].connection.get_server_pid())
            return out

        case_service.prepare_report = then_lost  # type: ignore[assignment]
        try:
            unavailable(await app.api.post(DOC, {"input": data}, token=token))
        finally:
            case_service.prepare_report = real  # type: ignore[assignment]
        assert taken == [True]
        assert await fdb.cases() == before
        first = answered(await app.api.post(DOC, {"input": data}, token=token))
        again = answered(await app.api.post(DOC, {"input": data}, token=token))
        assert first == again
        assert await fdb.cases() == before + 1
        # Every pooled backend terminated while idle: the report's BEGIN or first statement is sent again.
        await fdb.terminate_backends()
        answered(await app.api.post(DOC, {"input": {**data, "idempotencyKey": uuid.uuid4().hex}}, token=token))
        assert await fdb.cases() == before + 2
