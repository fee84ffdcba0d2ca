"""The operator's side of the working calendar (issue #22): `gongzhi calendar load/show` on a throw-away
SQLite file, the platform API's loadWorkingCalendar (platform administrators only, audited) on both
backends, and — with a fake clock — the metric and the once-a-day warning from 1 November when next
year's arrangement is neither in the package nor loaded."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from gongzhi.cli import main
from gongzhi.http.app import create_app
from gongzhi.http.auth import issue_dev_token
from gongzhi.jobs import Check, run_checks, run_periodically
from gongzhi.modules import cases as cases_module
from gongzhi.modules import checks
from gongzhi.settings import Settings
from resolvers.cases import SHANGHAI
from tests.support.calendar import Q_CALENDAR, arrangement_json, loaded, unload
from tests.support.harness import JWT_SECRET, Api, DbEnv, World
from tests.support.paths import ROOT

EXAMPLE = ROOT / "examples" / "calendar" / "2026.json"


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("calendar") / "cal.db"
    with pytest.MonkeyPatch.context() as mp:
        for name in ("GONGZHI_MIGRATION_DATABASE_URL", "GONGZHI_JWT_SECRET"):
            mp.delenv(name, raising=False)
        mp.setenv("GONGZHI_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
        mp.setenv("GONGZHI_DEMO", "1")
        assert _run(["migrate"])[0] == 0
        yield path


@pytest.fixture
def cli(cli_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("GONGZHI_MIGRATION_DATABASE_URL", raising=False)
    monkeypatch.setenv("GONGZHI_DATABASE_URL", f"sqlite+aiosqlite:///{cli_db}")
    monkeypatch.setenv("GONGZHI_DEMO", "1")
    return cli_db


def test_cli_show_a_year_nobody_loaded(cli: Path) -> None:
    code, out, _ = _run(["calendar", "show", "2027"])
    assert code == 0
    lines = out.splitlines()
    assert "NO ARRANGEMENT" in lines[0]
    assert "2027-01-01 周五 休 元旦 [statutory]" in lines
    assert "2027-02-05 周五 休 春节 [statutory]" in lines and "2027-02-08 周一 休 春节 [statutory]" in lines
    assert len(lines) == 1 + 13  # the 13 statutory days, nothing else differs from an ordinary week
    code, out, _ = _run(["calendar", "show", "2025"])
    assert code == 0 and "chinesecalendar" in out.splitlines()[0]
    assert "2025-09-28 周日 班 国庆节调休上班 [package]" in out.splitlines()


def test_cli_load_then_show(cli: Path) -> None:
    code, out, err = _run(["calendar", "load", str(EXAMPLE)])
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "loaded 2026: 国务院办公厅关于2026年部分节假日安排的通知"
    assert "make-up working days (6): 2026-01-04, 2026-02-14, 2026-02-28, 2026-05-09, 2026-09-20, 2026-10-10" in out
    code, out, _ = _run(["calendar", "show", "2026"])
    lines = out.splitlines()
    assert code == 0 and "platform arrangement" in lines[0]
    assert "published 2025-11-04" in lines[0] and "by cli" in lines[0]
    assert "2026-02-14 周六 班 春节调休上班 [platform_arrangement]" in lines
    assert "2026-02-23 周一 休 春节 [platform_arrangement]" in lines
    assert len(lines) == 1 + 33 + 6  # every day off and every make-up day of the notice
    # loading again replaces the year: a corrected file with one make-up day fewer
    fixed = cli.parent / "2026-fixed.json"
    fixed.write_text(EXAMPLE.read_text(encoding="utf-8").replace('"work": ["2026-02-14", "2026-02-28"]',
                                                                 '"work": ["2026-02-14"]'), encoding="utf-8")
    assert _run(["calendar", "load", str(fixed)])[0] == 0
    lines = _run(["calendar", "show", "2026"])[1].splitlines()
    assert "2026-02-14 周六 班 春节调休上班 [platform_arrangement]" in lines
    # 2026-02-28 is no longer the arrangement's: the package (next in line) still has it as a make-up day
    assert [line for line in lines if line.startswith("2026-02-28")] == ["2026-02-28 周六 班 春节调休上班 [package]"]


def test_cli_refuses_a_bad_file_and_writes_nothing(cli: Path) -> None:
    bad = cli.parent / "bad.json"
    bad.write_text(arrangement_json(2042, [{"name": "元旦", "off": ["2042-01-01", "2043-01-01"]}], yaer=1),
                   encoding="utf-8")
    code, out, err = _run(["calendar", "load", str(bad)])
    assert code == 2 and out == ""
    assert "error: 未知的键 'yaer'" in err and "2043-01-01 不在 2042 年内" in err
    assert "NO ARRANGEMENT" in _run(["calendar", "show", "2042"])[1]
    assert _run(["calendar", "load", str(cli.parent / "missing.json")])[0] == 2
    # a day already taken by another loaded year (a make-up day of 2043's New Year on 2042-12-27)
    ok = cli.parent / "2042.json"
    ok.write_text(arrangement_json(2042, [{"name": "元旦", "off": ["2042-01-01"], "work": ["2042-12-27"]}]),
                  encoding="utf-8")
    code, _, err = _run(["calendar", "load", str(ok)])
    assert code == 0 and err.count("warning:") == 12  # the other statutory days of 2042 are not in it
    clash = cli.parent / "2043.json"
    clash.write_text(arrangement_json(2043, [{"name": "元旦", "off": ["2043-01-01"], "work": ["2042-12-27"]}]),
                     encoding="utf-8")
    code, _, err = _run(["calendar", "load", str(clash)])
    assert code == 2 and "2042-12-27 已属于已加载的 2042 年安排" in err
    assert "NO ARRANGEMENT" in _run(["calendar", "show", "2043"])[1]


def test_migration_gives_existing_tenants_the_calendar_policy_lines(tmp_path: Path) -> None:
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    from gongzhi.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, revision="0025")
    tenant_id = uuid.uuid4()

    async def run() -> tuple[list[tuple[str, ...]], int, int]:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO tenants (id, slug, name, status, policy_version, created_at) "
                "VALUES (:id, 'old', '旧街道', 'active', 4, '2026-01-01 00:00:00')"), {"id": tenant_id.hex})
        await engine.dispose()
        await asyncio.to_thread(upgrade, url)
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text(
                "SELECT v0, v1, v2, v3, v4 FROM casbin_rules WHERE v2 = 'calendar' ORDER BY v0"))).all()
            version = (await conn.execute(sa.text("SELECT policy_version FROM tenants"))).scalar_one()
            loaded = (await conn.execute(sa.text("SELECT count(*) FROM platform_calendar_days"))).scalar_one()
        await engine.dispose()
        return [tuple(r) for r in rows], int(version), int(loaded)

    rows, version, loaded_days = asyncio.run(run())
    assert rows == [("partner_unit", str(tenant_id), "calendar", "read", "all"),
                    ("resident", str(tenant_id), "calendar", "read", "all")]
    assert version > 4 and loaded_days == 0  # bumped (later revisions may bump it again)


# --------------------------------------------------------------------------- the platform API

LOAD = """mutation($a: String!) { loadWorkingCalendar(arrangement: $a) {
  arrangement { year title number published daysOff workingDays loadedBy } warnings errors { code message } } }"""
SHOW = "query($y: Int!) { workingCalendarArrangement(year: $y) { year daysOff workingDays } }"


async def test_platform_api_loads_an_arrangement_for_platform_admins_only(db: DbEnv, world: World) -> None:
    settings = Settings(database_url=db.app_url, migration_database_url=db.owner_url, jwt_secret=JWT_SECRET,
                        rate_limit_per_minute=0, platform_api=True)
    app = create_app(settings, engine=db.engine)
    admin_id = uuid.uuid4()
    admin = issue_dev_token(settings, user_id=admin_id, username="ops", tenants=[], platform="admin")
    street_admin = issue_dev_token(settings, user_id=world.a.users["admin"], username=world.a.username("admin"),
                                   tenants=[world.a.slug])
    text = arrangement_json(2043, [{"name": "春节", "off": ["2043-02-08/2043-02-15"], "work": ["2043-02-07"]}],
                            number="国办发明电〔2042〕1号", published="2042-11-04")
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            async def call(token: str | None, query: str, variables: dict[str, Any]) -> httpx.Response:
                headers = {"authorization": f"Bearer {token}"} if token else {}
                return await c.post("/platform/graphql", json={"query": query, "variables": variables},
                                    headers=headers)

            refused = await call(street_admin, LOAD, {"a": text})
            assert refused.status_code == 403
            assert refused.json()["errors"][0]["extensions"]["code"] == "PLATFORM_ADMIN_REQUIRED"
            assert (await call(None, LOAD, {"a": text})).status_code == 401
            assert (await call(admin, SHOW, {"y": 2043})).json() == {"data": {"workingCalendarArrangement": None}}

            bad = (await call(admin, LOAD, {"a": "{\"year\": 2043}"})).json()["data"]["loadWorkingCalendar"]
            assert bad["arrangement"] is None and {e["code"] for e in bad["errors"]} == {"INVALID"}
            assert any("title" in e["message"] for e in bad["errors"])
            assert (await call(admin, SHOW, {"y": 2043})).json()["data"]["workingCalendarArrangement"] is None

            ok = (await call(admin, LOAD, {"a": text})).json()["data"]["loadWorkingCalendar"]
            assert ok["errors"] == []
            assert ok["arrangement"] == {
                "year": 2043, "title": "国务院办公厅关于2043年部分节假日安排的通知", "number": "国办发明电〔2042〕1号",
                "published": "2042-11-04", "daysOff": [f"2043-02-{d:02d}" for d in range(8, 16)],
                "workingDays": ["2043-02-07"], "loadedBy": str(admin_id)}
            assert len(ok["warnings"]) == 9 and "元旦 2043-01-01" in ok["warnings"][0]
            shown = (await call(admin, SHOW, {"y": 2043})).json()["data"]["workingCalendarArrangement"]
            assert shown == {"year": 2043, "daysOff": ok["arrangement"]["daysOff"], "workingDays": ["2043-02-07"]}

            # every tenant's calendar has it now (the tenants' API, as the app role)
            api = Api(c, settings)
            body = (await api.post(Q_CALENDAR, {"f": "2043-02-07", "t": "2043-02-08"},
                                   token=api.token(world.b, "resident"))).json()
            assert body["data"]["workingCalendar"] == [
                {"date": "2043-02-07", "working": True, "source": "PLATFORM_ARRANGEMENT", "note": "春节调休上班"},
                {"date": "2043-02-08", "working": False, "source": "PLATFORM_ARRANGEMENT", "note": "春节"}]

            log = (await call(admin, "{ platformAudit(last: 10) { action outcome userId } }", {})).json()
        entries = [(e["action"], e["outcome"]) for e in log["data"]["platformAudit"]
                   if e["action"] in ("loadWorkingCalendar", "platform")]
        assert entries[:3] == [("loadWorkingCalendar", "ok"), ("loadWorkingCalendar", "error"), ("platform", "refused")]
    finally:
        await unload(db, 2043)


# --------------------------------------------------------------------------- the metric and the warning


def _gauge() -> float | None:
    return REGISTRY.get_sample_value("gongzhi_calendar_next_year_missing")


def _sh(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


async def test_from_1_november_a_missing_next_year_sets_the_metric_and_warns_once_a_day(
        db: DbEnv, caplog: pytest.LogCaptureFixture) -> None:
    check = cases_module.CALENDAR_NEXT_YEAR
    assert check in checks()
    cases_module._warned_on.clear()
    caplog.set_level(logging.WARNING, logger="gongzhi.calendar")

    def warnings() -> list[str]:
        found = [r.getMessage() for r in caplog.records if r.name == "gongzhi.calendar"]
        caplog.clear()
        return found

    async def at(when: datetime) -> None:  # the app's sessions: the app role on PostgreSQL
        await run_checks(db.sessionmaker, [check], now=when)

    await at(_sh(2040, 10, 31, 23, 59))
    assert _gauge() == 0 and warnings() == []
    await at(_sh(2040, 11, 1, 0, 1))  # Beijing time: still 31 October in UTC
    assert _gauge() == 1
    found = warnings()
    assert len(found) == 1 and "2041" in found[0] and "gongzhi calendar load" in found[0]
    await at(_sh(2040, 11, 1, 18))  # the same day: no second warning
    assert _gauge() == 1 and warnings() == []
    await at(_sh(2040, 11, 2, 9))  # the next day: again
    assert _gauge() == 1 and len(warnings()) == 1
    async with loaded(db, arrangement_json(2041, [{"name": "元旦", "off": ["2041-01-01"]}])):
        await at(_sh(2040, 12, 15))
        assert _gauge() == 0 and warnings() == []
    await at(_sh(2040, 12, 16))
    assert _gauge() == 1 and len(warnings()) == 1
    await at(_sh(2025, 11, 5))  # 2026 is in the package
    assert _gauge() == 0 and warnings() == []
    await at(_sh(2041, 1, 2))  # January to October: nothing to say yet
    assert _gauge() == 0 and warnings() == []


async def test_checks_run_with_the_periodic_jobs_and_a_failing_check_is_logged(
        db: DbEnv, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[datetime] = []
    done = asyncio.Event()

    async def record(_sm: Any, now: datetime) -> None:
        seen.append(now)
        if len(seen) == 2:
            done.set()

    async def broken(_sm: Any, _now: datetime) -> None:
        raise RuntimeError("boom")

    caplog.set_level(logging.ERROR, logger="gongzhi.jobs")
    task = asyncio.create_task(run_periodically(db.sessionmaker, None, 0, (),  # type: ignore[arg-type]
                                                (Check("broken", broken), Check("record", record))))
    try:
        await asyncio.wait_for(done.wait(), timeout=10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert len(seen) >= 2 and all(t.tzinfo is UTC for t in seen)
    assert any("check broken failed" in r.getMessage() for r in caplog.records)
