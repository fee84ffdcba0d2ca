"""The `gongzhi` command on a throw-away SQLite file, and the demo end to end in-process."""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from gongzhi.cli import main
from gongzhi.http.app import create_app
from gongzhi.migrate import head_revision
from gongzhi.settings import DEMO_JWT_SECRET, ROOT, Settings
from resolvers.cases.workcalendar import SHANGHAI
from tenants.session import make_engine

DEMO_TENANTS = {"weierlu", "baitao", "langya", "yanquan"}
CHAIN_ROLES = {"street_admin", "party_secretary", "grid_leader", "owner_committee_chair", "property_firm", "resident"}


@dataclass
class Demo:
    url: str
    path: Path
    migrate_out: str
    first_seed_out: str
    second_seed_out: str


def _env(mp: pytest.MonkeyPatch, url: str) -> None:
    for name in ("GONGZHI_JWT_SECRET", "GONGZHI_JWT_PUBLIC_KEY_FILE", "GONGZHI_JWT_JWKS_FILE",
                 "GONGZHI_MIGRATION_DATABASE_URL", "GONGZHI_GRAPHIQL", "GONGZHI_JWT_ISSUER", "GONGZHI_JWT_AUDIENCE"):
        mp.delenv(name, raising=False)
    mp.setenv("GONGZHI_DATABASE_URL", url)
    mp.setenv("GONGZHI_DEMO", "1")


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """migrate and seed-demo (twice) on a new SQLite file under a directory that does not exist yet."""
    path = tmp_path_factory.mktemp("cli") / "nested" / "demo.db"
    url = f"sqlite+aiosqlite:///{path}"
    with pytest.MonkeyPatch.context() as mp:
        _env(mp, url)
        code, migrate_out, _ = _run(["migrate"])
        assert code == 0
        code, first, _ = _run(["seed-demo"])
        assert code == 0
        code, second, _ = _run(["seed-demo"])
        assert code == 0
        yield Demo(url, path, migrate_out, first, second)


@pytest.fixture
def demo_env(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> Demo:
    _env(monkeypatch, demo.url)
    return demo


def test_migrate_builds_the_database_at_head(demo: Demo) -> None:
    import sqlite3

    assert demo.path.exists()
    assert "head" in demo.migrate_out
    with sqlite3.connect(demo.path) as conn:
        (version,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert version == head_revision()


def test_migrate_twice_is_harmless(demo_env: Demo) -> None:
    code, out, _ = _run(["migrate"])
    assert code == 0
    assert "head" in out


def test_seed_demo_creates_four_tenants_once(demo: Demo) -> None:
    lines = dict(line.split(": ", 1) for line in demo.first_seed_out.strip().splitlines())
    assert set(lines["seeded"].split(", ")) == DEMO_TENANTS
    assert set(lines["demo cases"].split(", ")) == DEMO_TENANTS
    assert set(lines["demo deliberation"].split(", ")) == DEMO_TENANTS
    assert "nothing new" in demo.second_seed_out
    assert not any(slug in demo.second_seed_out for slug in DEMO_TENANTS)


def test_demo_users_json(demo_env: Demo) -> None:
    code, out, _ = _run(["demo-users", "--json"])
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert rows
    assert all({"tenant", "user", "role", "scope"} <= row.keys() for row in rows)
    assert {r["tenant"] for r in rows} == DEMO_TENANTS
    for tenant in DEMO_TENANTS:
        roles = {r["role"] for r in rows if r["tenant"] == tenant}
        assert CHAIN_ROLES <= roles, (tenant, CHAIN_ROLES - roles)
        assert all(r["user"].startswith(f"{tenant}.") for r in rows if r["tenant"] == tenant)
    assert any(r["tenant"] == "langya" and r["user"] == "langya.grid" and r["role"] == "grid_leader" for r in rows)


def test_demo_users_table(demo_env: Demo) -> None:
    code, out, _ = _run(["demo-users"])
    assert code == 0
    assert "langya.grid" in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out.splitlines()[0])


def _token(args: list[str]) -> str:
    code, out, err = _run(["token", *args])
    assert code == 0, err
    token = out.strip()
    assert token.count(".") == 2
    return token


def test_token_is_a_demo_jwt(demo_env: Demo) -> None:
    claims = jwt.decode(_token(["--tenant", "langya", "--user", "langya.grid"]), DEMO_JWT_SECRET,
                        algorithms=["HS256"], audience="gongzhi", issuer="gongzhi")
    assert claims["tenants"] == ["langya"]
    assert claims["preferred_username"] == "langya.grid"
    assert claims["exp"] > claims["iat"]
    several = jwt.decode(_token(["--tenant", "langya", "--tenant", "baitao", "--user", "langya.grid"]),
                         DEMO_JWT_SECRET, algorithms=["HS256"], audience="gongzhi", issuer="gongzhi")
    assert several["tenants"] == ["langya", "baitao"]


@pytest.mark.parametrize(
    "args",
    [["--tenant", "langya", "--user", "nobody.at.all"], ["--tenant", "atlantis", "--user", "langya.grid"]],
    ids=["unknown-user", "unknown-tenant"],
)
def test_token_for_unknown_user_or_tenant_exits_2(demo_env: Demo, args: list[str]) -> None:
    code, out, err = _run(["token", *args])
    assert code == 2
    assert out == ""
    assert "unknown" in err


def test_token_without_a_secret_fails_in_one_line(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    # issue #25: every CLI error is one line and a non-zero status, never a traceback
    _env(monkeypatch, demo.url)
    monkeypatch.delenv("GONGZHI_DEMO")
    code, out, err = _run(["token", "--tenant", "langya", "--user", "langya.grid"])
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("错误：") and "GONGZHI_JWT_SECRET" in err, err
    assert "Traceback" not in err


def test_a_bad_setting_is_one_line_and_status_2(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, demo.url)
    monkeypatch.setenv("GONGZHI_DB_POOL_SIZE", "many")
    monkeypatch.setenv("GONGZHI_SHUTDOWN_TIMEOUT", "soon")
    code, out, err = _run(["demo-users"])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "GONGZHI_DB_POOL_SIZE" in err and "GONGZHI_SHUTDOWN_TIMEOUT" in err, err


def test_an_unreachable_database_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, "postgresql+asyncpg://nobody@127.0.0.1:1/nothing")
    code, _out, err = _run(["demo-users"])
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("错误：无法连接"), err


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_refuses_to_start_without_a_jwt_key(workers: str, tmp_path: Path) -> None:
    """issue #25: the master exits non-zero with one line; no worker is started to crash in a loop."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGZHI_")}
    env["GONGZHI_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    done = subprocess.run([sys.executable, "-m", "gongzhi.cli", "serve", "--port", "1", "--workers", workers],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "无法启动" in done.stderr and "GONGZHI_JWT_SECRET" in done.stderr, done


def test_export_schema_equals_committed_sdl(tmp_path: Path) -> None:
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    code, out, _ = _run(["export-schema"])
    assert code == 0
    assert out == committed
    target = tmp_path / "schema.graphql"
    code, _, _ = _run(["export-schema", "-o", str(target)])
    assert code == 0
    assert target.read_text(encoding="utf-8") == committed


def test_unknown_command_exits_2() -> None:
    with pytest.raises(SystemExit) as e:
        _run(["frobnicate"])
    assert e.value.code == 2


def test_tenant_create(demo_env: Demo) -> None:
    code, out, _ = _run(["tenant", "create", "--slug", "clitest", "--name", "命令行街道"])
    assert code == 0
    assert "clitest" in out
    code, _, err = _run(["tenant", "create", "--slug", "clitest", "--name", "again"])
    assert code == 2
    assert err.startswith("error:")


@pytest.fixture
def langya_grid_token(demo_env: Demo) -> str:
    """Printed by the CLI (which runs its own event loop, so not from inside an async test)."""
    return _token(["--tenant", "langya", "--user", "langya.grid"])


async def test_demo_end_to_end(demo_env: Demo, langya_grid_token: str) -> None:
    token = langya_grid_token
    settings = Settings.from_env()
    assert settings.demo and settings.jwt_secret == DEMO_JWT_SECRET and settings.graphiql
    engine = make_engine(settings.database_url)
    headers = {"authorization": f"Bearer {token}", "accept": "application/graphql-response+json"}
    query = ("{ me { username tenant { slug } roles { role active } } "
             "households(first: 100) { totalCount nodes { id building { name } } } }")
    try:
        app = create_app(settings, engine=engine)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo") as client:
            r = await client.post("/graphql", json={"query": query}, headers=headers)
            assert r.status_code == 200, r.text
            body = r.json()
            assert "errors" not in body, body
            me = body["data"]["me"]
            assert me["username"] == "langya.grid"
            assert me["tenant"]["slug"] == "langya"
            assert {"role": "GRID_LEADER", "active": True} in me["roles"]
            households = body["data"]["households"]
            assert households["totalCount"] > 0
            assert len(households["nodes"]) == min(households["totalCount"], 100)
            assert all(h["building"]["name"] for h in households["nodes"])
            # The demo token of one tenant does not open another.
            r = await client.post("/graphql", json={"query": "{ me { username } }"},
                                  headers={**headers, "x-gongzhi-tenant": "baitao"})
            assert r.status_code == 403
            assert (await client.get("/readyz")).status_code == 200
            page = await client.get("/graphql", headers={"accept": "text/html"})
            assert page.status_code == 200 and "graphiql" in page.text.lower()
    finally:
        await engine.dispose()


@pytest.fixture
def admin_tokens(demo_env: Demo) -> dict[str, str]:
    return {slug: _token(["--tenant", slug, "--user", f"{slug}.admin"]) for slug in sorted(DEMO_TENANTS)}


_RATES = ("responseRate", "resolutionRate", "satisfactionRate", "onTimeRate", "returnRate", "reworkRate",
          "callbackRate")


async def test_each_demo_tenant_has_a_hotline_order_and_a_rates_page(demo_env: Demo,
                                                                     admin_tokens: dict[str, str]) -> None:
    """Issue #22: one 12345 work order per demo street office (source and ticket number), handled to
    closure, and each tenant's caseRates of the last 60 days with every rate's denominator above zero."""
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    today = datetime.now(SHANGHAI).date()
    period = {"kind": "RANGE", "from": (today - timedelta(days=60)).isoformat(), "to": today.isoformat()}
    doc = ("query($p: RatePeriodInput!, $s: [CaseSource!]) { caseRates(period: $p) { rows { cases score "
           + " ".join(f"{r} {{ denominator }}" for r in _RATES)
           + " } } cases(sources: $s) { nodes { state source externalTicketNo } } }")
    try:
        app = create_app(settings, engine=engine)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo") as client:
            for slug, token in admin_tokens.items():
                r = await client.post("/graphql", json={"query": doc, "variables": {"p": period,
                                                                                    "s": ["HOTLINE_12345"]}},
                                      headers={"authorization": f"Bearer {token}"})
                body = r.json()
                assert "errors" not in body, body
                [order] = body["data"]["cases"]["nodes"]
                assert order["state"] == "CLOSED" and re.fullmatch(r"GD\d{12}", order["externalTicketNo"]), order
                [row] = body["data"]["caseRates"]["rows"]
                empty = [k for k in _RATES if row[k]["denominator"] == 0]
                assert row["cases"] > 0 and empty == [] and row["score"] is not None, (slug, row)
    finally:
        await engine.dispose()


_PARTNER_CASE = """query { cases(handlerKind: PARTNER_UNIT, first: 20) { nodes { id state handlerName handlerId
  timeline { action actorRole } } } partnerUnits(first: 100) { nodes { id name clients { id label } } } }"""
_ROTATE = """mutation($i: RotatePartnerClientSecretInput!) { rotatePartnerClientSecret(input: $i) {
  client { clientId } clientSecret errors { code } } }"""


async def test_the_demo_has_a_case_handled_by_a_partner_unit(demo_env: Demo, admin_tokens: dict[str, str]) -> None:
    """Issue #22: in each demo street office with a partner unit under an agreement (baitao, yanquan) one case
    is dispatched to that unit and started by the unit's own system (the timeline says partner_unit); the
    unit's API client, its secret rotated as the explorer does, finds it on its desk. The others have none."""
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    handlers = {"baitao": "白涛街道志愿者协会", "yanquan": "蓝天救援队"}
    try:
        app = create_app(settings, engine=engine)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo") as client:
            async def gql(token: str, doc: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
                r = await client.post("/graphql", json={"query": doc, "variables": variables or {}},
                                      headers={"authorization": f"Bearer {token}"})
                body: dict[str, Any] = r.json()
                assert "errors" not in body, body
                return body["data"]  # type: ignore[no-any-return]

            for slug, token in admin_tokens.items():
                data = await gql(token, _PARTNER_CASE)
                cases = data["cases"]["nodes"]
                if slug not in handlers:
                    assert cases == [], (slug, cases)
                    continue
                [case] = cases
                [unit] = [u for u in data["partnerUnits"]["nodes"] if u["name"] == handlers[slug]]
                assert (case["state"], case["handlerName"], case["handlerId"]) == ("IN_PROGRESS", unit["name"],
                                                                                   unit["id"]), (slug, case)
                steps = [(e["action"], e["actorRole"]) for e in case["timeline"]]
                assert steps[-2:] == [("dispatch", "grid_leader" if slug == "baitao" else "street_admin"),
                                      ("start", "partner_unit")], (slug, steps)
                [system] = [c for c in unit["clients"] if c["label"].endswith("派单系统")]
                rotated = (await gql(token, _ROTATE, {"i": {"id": system["id"]}}))["rotatePartnerClientSecret"]
                assert rotated["errors"] == [], rotated
                r = await client.post("/oauth/token", data={
                    "grant_type": "client_credentials", "client_id": rotated["client"]["clientId"],
                    "client_secret": rotated["clientSecret"]})
                assert r.status_code == 200, r.text
                desk = await gql(r.json()["access_token"], "{ assignedCases(first: 5) { nodes { id state } } }")
                assert desk["assignedCases"]["nodes"] == [{"id": case["id"], "state": "IN_PROGRESS"}], (slug, desk)
    finally:
        await engine.dispose()


# A mainland ID number (17 digits and a check character) or mobile number standing on its own — not
# inside a uuid, hash, path or base64 ciphertext.
_PLAIN_ID = re.compile(r"(?<![0-9A-Za-z+/])\d{17}[\dX](?![0-9A-Za-z+/])")
_PLAIN_MOBILE = re.compile(r"(?<![0-9A-Za-z+/])1[3-9]\d{9}(?![0-9A-Za-z+/])")


def test_a_dump_of_the_demo_holds_no_plaintext_id_number_or_phone(demo: Demo) -> None:
    """Every text cell of every table of the seeded demo (thousands of persons, partner contacts,
    audit entries): sealed or masked, never in clear."""
    import sqlite3

    with sqlite3.connect(demo.path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        cells = [str(v) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"') for v in row
                 if isinstance(v, str)]
        sealed = conn.execute("SELECT count(*) FROM persons WHERE id_card_no LIKE 'v1:%'").fetchone()[0]
    assert sealed > 500  # the demo register is there, sealed
    leaks = [c for c in cells if _PLAIN_ID.search(c) or _PLAIN_MOBILE.search(c)]
    assert leaks == []


_FACTS = """query($c: ID, $fh: ID, $xh: ID, $st: ID) {
  meetings(first: 50) { nodes { title place state minutes decidedTopics { title state } } }
  activities(areaId: $xh, first: 50) { nodes { title state } }
  careServices(areaId: $fh) { name tagCode provider }
  xinguiServices: careServices(areaId: $st) { name tagCode provider }
  ownerCommittees(compoundId: $xh) { nodes { name chairName compound { name } } }
  zones: selfGoverningUnits(areaId: $c, kind: ZONE) { totalCount nodes { id name } }
  groups: selfGoverningUnits(areaId: $c, kind: GROUP, first: 50) { totalCount nodes { id name parentId } }
  centralHouseholds(areaId: $c, first: 50) { totalCount nodes { unitId householdId personId } }
}"""
_ECHO = "query($c: ID!) { echoWall(compoundId: $c) { nodes { title state answer } } }"
_AREAS = "query($s: String) { areas(search: $s, first: 20) { nodes { id name } } }"


async def test_the_demo_carries_the_seeds_facts_as_data(demo_env: Demo, admin_tokens: dict[str, str]) -> None:
    """Issue #23: what the street offices' accounts say (DESIGN.md §7) stands in the seeded demo as records
    a portal reads through GraphQL, not only in descriptions: 纬二路's 广言亭 / 议事角 deliberation, 白涛's
    monthly residents' meetings, 三里亭人家's echo wall, zones, groups and central party-member households,
    香樟雅苑's owner committee and fly-wire clean-up, 凤凰社区's and 新贵华城's service lists."""
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    try:
        app = create_app(settings, engine=engine)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo") as client:
            async def gql(slug: str, doc: str, variables: dict[str, object]) -> dict[str, Any]:
                r = await client.post("/graphql", json={"query": doc, "variables": variables},
                                      headers={"authorization": f"Bearer {admin_tokens[slug]}"})
                body: dict[str, Any] = r.json()
                assert r.status_code == 200 and "errors" not in body, body
                return body["data"]  # type: ignore[no-any-return]

            async def area(slug: str, name: str) -> str | None:
                found = [a["id"] for a in (await gql(slug, _AREAS, {"s": name}))["areas"]["nodes"] if a["name"] == name]
                return found[0] if found else None

            facts = {}
            for slug in ("weierlu", "baitao", "langya", "yanquan"):
                names = {"c": "三里亭人家", "fh": "凤凰社区", "xh": "香樟雅苑", "st": "新贵华城"}
                facts[slug] = await gql(slug, _FACTS, {k: await area(slug, n) for k, n in names.items()})

            # 纬二路: matters raised at 广言亭 and at 议事角, deliberated there and decided.
            held = {m["place"]: m for m in facts["weierlu"]["meetings"]["nodes"]}
            for place in ("纬二路社区广言亭", "磨玉市场小区议事角"):
                assert held[place]["state"] == "CLOSED" and held[place]["minutes"], held
                assert [t["state"] for t in held[place]["decidedTopics"]] == ["IMPLEMENTING"], held[place]

            # 白涛 建峰社区: a residents' meeting in each of the last three months, minuted, each deciding a matter.
            monthly = [m for m in facts["baitao"]["meetings"]["nodes"] if m["title"].endswith("月居民议事会")]
            assert len({m["title"] for m in monthly}) == 3, monthly
            assert all(m["state"] == "CLOSED" and m["minutes"] and m["decidedTopics"] for m in monthly), monthly

            # 三里亭人家: the echo wall shows answers; 2 zones, 12 groups (6 in each zone), 12 central households.
            langya = facts["langya"]
            echo = (await gql("langya", _ECHO, {"c": await area("langya", "三里亭人家")}))["echoWall"]["nodes"]
            assert {e["title"] for e in echo} == {"楼道声控灯损坏", "小区东侧绿化带垃圾堆积"}, echo
            assert all(e["answer"] and e["state"] in ("RESOLVED", "CLOSED") for e in echo), echo
            zones = {z["id"]: z["name"] for z in langya["zones"]["nodes"]}
            assert sorted(zones.values()) == ["第一自治片区", "第二自治片区"]
            groups = langya["groups"]["nodes"]
            assert langya["groups"]["totalCount"] == 12 == len({g["name"] for g in groups})
            assert sorted(sum(g["parentId"] == z for g in groups) for z in zones) == [6, 6]
            central = langya["centralHouseholds"]["nodes"]
            assert langya["centralHouseholds"]["totalCount"] == 12
            assert {c["unitId"] for c in central} == {g["id"] for g in groups}
            assert len({c["householdId"] for c in central}) == 12

            # 燕泉 香樟雅苑: its owner committee, and the fly-wire clean-up as an activity.
            yanquan = facts["yanquan"]
            [committee] = yanquan["ownerCommittees"]["nodes"]
            assert committee["compound"] == {"name": "香樟雅苑"} and committee["chairName"], committee
            clean_up = [a["title"] for a in yanquan["activities"]["nodes"] if "飞线" in a["title"]]
            assert clean_up == ["香樟雅苑飞线充电清理行动"], yanquan["activities"]

            # Service lists: 凤凰社区's elderly care station and childcare, 新贵华城's elders' canteen.
            providers = {s["provider"] for s in langya["careServices"]}
            assert {"凤凰社区养老服务站", "凤凰社区托育服务点"} <= providers, langya["careServices"]
            assert {s["tagCode"] for s in langya["careServices"]} >= {"living_alone", "infant_family"}
            assert {s["provider"] for s in yanquan["xinguiServices"]} == {"新贵华城长者食堂"}, yanquan
    finally:
        await engine.dispose()
