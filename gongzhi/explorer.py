"""The demo's GraphQL explorer (issue #12): GraphiQL with a demo-user picker and example operations.

Only mounted when ``settings.demo`` is on: ``GET /graphql`` (HTML) serves the page, ``GET /demo/users``
lists the demo users (tenant, user, role, scope) and ``POST /demo/token`` {tenant, user} returns a
development token for one of them, which the page sends as ``Authorization`` with
``X-Gongzhi-Tenant``. Outside the demo none of this exists (the routes are not registered: 404).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gongzhi.auth import issue_dev_token
from gongzhi.demo import demo_users
from gongzhi.settings import ROOT, Settings
from models import User
from tenants.session import bind_tenant

EXAMPLES = ROOT / "examples" / "operations"
# Tab order: the portals in the order of docs/portals.md.
_EXAMPLE_ORDER = ["whoami", "resident", "grid_worker", "party_secretary", "property_firm", "partner"]


def example_operations(directory: Path = EXAMPLES) -> list[dict[str, str]]:
    """One GraphiQL tab per example file: {name, query}."""
    files = sorted(directory.glob("*.graphql"),
                   key=lambda p: (_EXAMPLE_ORDER.index(p.stem) if p.stem in _EXAMPLE_ORDER else 99, p.stem))
    return [{"name": p.stem, "query": p.read_text(encoding="utf-8")} for p in files]


def explorer_html(examples: list[dict[str, str]]) -> str:
    tabs = json.dumps([{"query": e["query"]} for e in examples], ensure_ascii=False)
    # Inside <script>: no "</" may close the tag early.
    tabs = tabs.replace("</", "<\\/")
    return _PAGE.replace("__TABS__", tabs).replace("__TITLE__", html.escape("gongzhi explorer (demo)"))


def demo_routes(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> list[Route]:
    async def users(_request: Request) -> Response:
        return JSONResponse(await demo_users(sessionmaker))

    async def token(request: Request) -> Response:
        try:
            body: Any = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("tenant"), str) or not isinstance(
                body.get("user"), str):
            return JSONResponse({"error": "body must be {\"tenant\": slug, \"user\": username}"}, status_code=400)
        known = {(u["tenant"], u["user"]) for u in await demo_users(sessionmaker)}
        if (body["tenant"], body["user"]) not in known:
            return JSONResponse({"error": "no such demo user in that tenant"}, status_code=404)
        async with sessionmaker() as s:
            bind_tenant(s, None)
            user = await s.scalar(select(User).where(User.username == body["user"]))
        if user is None:  # pragma: no cover - demo_users only lists existing users
            return JSONResponse({"error": "no such demo user"}, status_code=404)
        jwt = issue_dev_token(settings, user_id=user.id, username=user.username, tenants=[body["tenant"]])
        return JSONResponse({"token": jwt, "tenant": body["tenant"],
                             "headers": {"Authorization": f"Bearer {jwt}", "X-Gongzhi-Tenant": body["tenant"]}})

    return [Route("/demo/users", users, methods=["GET"]), Route("/demo/token", token, methods=["POST"])]


_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>__TITLE__</title>
  <style>
    body { margin: 0; height: 100vh; display: flex; flex-direction: column; font-family: sans-serif; }
    #demo-bar { padding: 6px 12px; background: #b71c1c; color: #fff; display: flex; gap: 12px;
                align-items: center; font-size: 14px; }
    #demo-bar select { font-size: 14px; max-width: 60vw; }
    #graphiql { flex: 1; min-height: 0; }
  </style>
  <script crossorigin src="https://unpkg.com/react@18.2.0/umd/react.production.min.js"
    integrity="sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8"></script>
  <script crossorigin src="https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js"
    integrity="sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh"></script>
  <link crossorigin rel="stylesheet" href="https://unpkg.com/graphiql@3.8.3/graphiql.min.css"
    integrity="sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM">
</head>
<body>
  <div id="demo-bar">
    <strong>共治 demo explorer</strong>
    <label>Act as: <select id="demo-user"><option value="">— pick a demo user —</option></select></label>
    <span id="demo-status">no user: requests are unauthenticated</span>
  </div>
  <div id="graphiql">Loading…</div>
  <script crossorigin src="https://unpkg.com/graphiql@3.8.3/graphiql.min.js"
    integrity="sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie"></script>
  <script>
    const TABS = __TABS__;
    const url = window.location.href.split("?")[0];
    let authHeaders = {};
    // The picked user's headers go on every request; GraphiQL's own header editor can add more.
    async function fetcher(params, opts) {
      const headers = Object.assign({"Content-Type": "application/json",
                                     "Accept": "application/graphql-response+json, application/json"},
                                    (opts && opts.headers) || {}, authHeaders);
      const r = await fetch(url, {method: "POST", headers, body: JSON.stringify(params)});
      return r.json();
    }
    const root = ReactDOM.createRoot(document.getElementById("graphiql"));
    root.render(React.createElement(GraphiQL, {fetcher, defaultTabs: TABS, defaultEditorToolsVisibility: true,
                                               storage: {getItem: () => null, setItem() {}, removeItem() {},
                                                         clear() {}, length: 0}}));
    const select = document.getElementById("demo-user");
    const status = document.getElementById("demo-status");
    fetch("/demo/users").then(r => r.json()).then(users => {
      for (const u of users) {
        const o = document.createElement("option");
        o.value = JSON.stringify({tenant: u.tenant, user: u.user});
        o.textContent = `${u.tenant} · ${u.user} (${u.display_name}) — ${u.role} @ ${u.scope}`;
        select.appendChild(o);
      }
    });
    select.addEventListener("change", async () => {
      if (!select.value) { authHeaders = {}; status.textContent = "no user"; return; }
      const r = await fetch("/demo/token", {method: "POST", headers: {"Content-Type": "application/json"},
                                            body: select.value});
      const body = await r.json();
      if (!r.ok) { status.textContent = body.error; return; }
      authHeaders = body.headers;
      status.textContent = "requests carry this user's token (tenant " + body.tenant + ")";
      status.dataset.tenant = body.tenant;
    });
  </script>
</body>
</html>
"""
