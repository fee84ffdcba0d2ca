"""bench.inproc --explain on a request whose check reads every row (markNotificationsRead's: the driver connection
comes wrapped in tenants.session._AllRows): each statement explained on the connection itself, not the wrapper."""

from __future__ import annotations

from typing import Any

import tenants.session as ts
from bench.inproc import _explain


class _Driver:
    """An asyncpg connection's part the explain uses: ``fetch`` and ``fetchrow``, each statement recorded."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.sent.append(sql)
        return [("Index Scan using pk_notifications on notifications",)] if sql.startswith("EXPLAIN") else [(1,)]

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        self.sent.append(sql)
        return (36, 0) if "pg_prepared_statements" in sql else (1,)


async def test_a_read_of_every_row_is_explained(capsys: Any) -> None:
    driver = _Driver()

    async def step() -> None:  # the request: its first statement, then a check of every row (many=True)
        await ts._fetchrow(driver, "SELECT t.id FROM tenants t WHERE t.id = 't'", ())
        check = "SELECT notifications.id FROM notifications WHERE notifications.tenant_id = 't'"
        assert await ts._fetchrow(ts._AllRows(driver), check, ()) == [(1,)]

    await _explain(step)
    out = capsys.readouterr().out
    assert "Index Scan using pk_notifications" in out and "36 generic plans, 0 custom plans" in out, out
    assert any(s.startswith("EXPLAIN") and "FROM notifications" in s for s in driver.sent), driver.sent
