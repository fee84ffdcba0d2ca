"""The demo's GraphQL explorer (issue #12): GraphiQL with a demo-user picker and example operations.

Only mounted when ``settings.demo`` is on: ``GET /graphql`` (HTML) serves the page, ``GET /demo/users``
lists the demo users (tenant, user, role, scope) and ``POST /demo/token`` {tenant, user} returns a
development token for one of them, which the page sends as ``Authorization`` with
``X-Gongzhi-Tenant``. ``GET /demo/partner-clients`` lists the partner API clients of the demo tenants;
to act as one, the page does what a street office and a partner system would: as the tenant's street
admin it rotates the client's secret (``rotatePartnerClientSecret``, the seed's secret is kept only
hashed) and exchanges id and new secret at ``POST /oauth/token`` (client credentials) for the partner
token it then sends. GraphiQL, React and ReactDOM are served from ``gongzhi/http/static/explorer`` under
``/demo/static`` (the npm packages' built files, unchanged: their SRI hashes are those of the
published packages), so the explorer works offline. Outside the demo none of this exists (the
routes are not registered: 404).
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
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gongzhi.demo import demo_users
from gongzhi.http.auth import issue_dev_token
from gongzhi.settings import ROOT, Settings
from models import PartnerClient, PartnerUnit, Tenant, User
from resolvers.ids import encode_global_id
from tenants.session import bind_tenant

EXAMPLES = ROOT / "examples" / "operations"
# The vendored GraphiQL/React builds (see the module docstring), served at /demo/static.
STATIC = Path(__file__).resolve().parent / "static" / "explorer"
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


async def demo_partner_clients(sessionmaker: async_sessionmaker[AsyncSession]) -> list[dict[str, str]]:
    """The partner API clients (not revoked) of every tenant, each with the demo street admin who
    manages it: tenant, client_id (for /oauth/token), id (global ID, for rotatePartnerClientSecret),
    label, unit, manager."""
    async with sessionmaker() as s:
        bind_tenant(s, None)
        tenants = list(await s.scalars(select(Tenant).order_by(Tenant.slug)))
    admins: dict[str, str] = {}
    for u in await demo_users(sessionmaker):
        if u["role"] == "street_admin":
            admins.setdefault(u["tenant"], u["user"])
    out: list[dict[str, str]] = []
    for tenant in tenants:
        if tenant.slug not in admins:
            continue
        async with sessionmaker() as s:
            bind_tenant(s, tenant.id)
            async with s.begin():
                rows = (await s.execute(
                    select(PartnerClient.id, PartnerClient.client_id, PartnerClient.label, PartnerUnit.name)
                    .join(PartnerUnit, PartnerUnit.id == PartnerClient.partner_unit_id)
                    .where(PartnerClient.revoked_at.is_(None)).order_by(PartnerClient.id))).all()
        out.extend({"tenant": tenant.slug, "client_id": client_id, "id": encode_global_id("PartnerClient", id_),
                    "label": label, "unit": unit, "manager": admins[tenant.slug]}
                   for id_, client_id, label, unit in rows)
    return out


def demo_routes(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> list[BaseRoute]:
    async def users(_request: Request) -> Response:
        return JSONResponse(await demo_users(sessionmaker))

    async def partner_clients(_request: Request) -> Response:
        return JSONResponse(await demo_partner_clients(sessionmaker))

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

    return [Route("/demo/users", users, methods=["GET"]), Route("/demo/token", token, methods=["POST"]),
            Route("/demo/partner-clients", partner_clients, methods=["GET"]),
            Mount("/demo/static", StaticFiles(directory=STATIC), name="explorer-static")]


_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>__TITLE__</title>
  <style>
    body { margin: 0; height: 100vh; display: flex; flex-direction: column; font-family: sans-serif; }
    #demo-bar { padding: 6px 12px; background: #b71c1c; color: #fff; display: flex; gap: 12px;
                align-items: center; font-size: 14px; }
    #demo-bar select { font-size: 14px; max-width: 55vw; }
    #demo-status { overflow-wrap: anywhere; }
    #graphiql { flex: 1; min-height: 0; }
  </style>
  <!-- The npm packages' built files, vendored in gongzhi/http/static/explorer: no CDN, works offline. -->
  <script crossorigin src="/demo/static/react@18.2.0/react.production.min.js"
    integrity="sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8"></script>
  <script crossorigin src="/demo/static/react-dom@18.2.0/react-dom.production.min.js"
    integrity="sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh"></script>
  <link crossorigin rel="stylesheet" href="/demo/static/graphiql@3.8.3/graphiql.min.css"
    integrity="sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM">
</head>
<body>
  <div id="demo-bar">
    <strong>共治 demo explorer</strong>
    <label>Act as: <select id="demo-user"><option value="">— pick a demo user or partner system —</option>
      <optgroup id="demo-users" label="Demo users (tenant · user — role @ scope)"></optgroup>
      <optgroup id="demo-partners" label="Partner systems 共建单位接口 (OAuth 2 client credentials)"></optgroup>
    </select></label>
    <span id="demo-status">no user: requests are unauthenticated</span>
  </div>
  <div id="graphiql">Loading…</div>
  <script crossorigin src="/demo/static/graphiql@3.8.3/graphiql.min.js"
    integrity="sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie"></script>
  <script>
    const TABS = __TABS__;
    const ROTATE = "mutation DemoRotate($id: ID!) { rotatePartnerClientSecret(id: $id) " +
                   "{ clientSecret errors { code message } } }";
    const url = window.location.href.split("?")[0];
    const JSON_HEADERS = {"Content-Type": "application/json",
                          "Accept": "application/graphql-response+json, application/json"};
    let authHeaders = {};
    let actor = null;  // {kind: "user"|"partner", ...}: what the picker chose
    const select = document.getElementById("demo-user");
    const status = document.getElementById("demo-status");

    function setStatus(text, ready) {
      status.textContent = text;
      status.dataset.ready = ready || "";
    }

    // A demo user: POST /demo/token gives that user's development token and tenant header.
    async function actAsUser(u) {
      const r = await fetch("/demo/token", {method: "POST", headers: {"Content-Type": "application/json"},
                                            body: JSON.stringify({tenant: u.tenant, user: u.user})});
      const body = await r.json();
      if (!r.ok) throw new Error(body.error);
      authHeaders = body.headers;
      status.dataset.tenant = body.tenant;
      setStatus("requests carry " + u.user + "'s token (tenant " + body.tenant + ")", "user:" + u.user);
    }

    // A partner system, as it would be in real life: the tenant's street admin rotates the client's
    // secret (the seeded one is kept only hashed), then the system exchanges client_id and secret at
    // POST /oauth/token (client credentials) for a 10-minute partner token.
    async function actAsPartner(p) {
      const admin = await fetch("/demo/token", {method: "POST", headers: {"Content-Type": "application/json"},
                                                body: JSON.stringify({tenant: p.tenant, user: p.manager})});
      const adminBody = await admin.json();
      if (!admin.ok) throw new Error(adminBody.error);
      const rot = await fetch(url, {method: "POST", headers: Object.assign({}, JSON_HEADERS, adminBody.headers),
                                    body: JSON.stringify({query: ROTATE, variables: {id: p.id}})});
      const rotBody = await rot.json();
      const payload = rotBody.data && rotBody.data.rotatePartnerClientSecret;
      if (!payload || !payload.clientSecret) {
        throw new Error("rotatePartnerClientSecret: " + JSON.stringify(rotBody.errors || (payload && payload.errors)));
      }
      const form = new URLSearchParams({grant_type: "client_credentials", client_id: p.client_id,
                                        client_secret: payload.clientSecret});
      const t = await fetch("/oauth/token", {method: "POST", body: form,
                                             headers: {"Content-Type": "application/x-www-form-urlencoded"}});
      const tok = await t.json();
      if (!t.ok) throw new Error("/oauth/token: " + tok.error + " " + tok.error_description);
      authHeaders = {"Authorization": "Bearer " + tok.access_token};
      status.dataset.tenant = p.tenant;
      setStatus("requests carry a partner token of " + p.unit + " · " + p.label + " (client_id " + p.client_id +
                ", new secret " + payload.clientSecret + ", token from /oauth/token for " + tok.expires_in + " s)",
                "partner:" + p.client_id);
    }

    async function act() {
      setStatus("getting a token…", "");
      try {
        if (!actor) { authHeaders = {}; setStatus("no user: requests are unauthenticated", ""); }
        else if (actor.kind === "partner") await actAsPartner(actor);
        else await actAsUser(actor);
      } catch (e) {
        authHeaders = {};
        setStatus(String(e.message || e), "error");
      }
    }

    // The picked actor's headers go on every request; GraphiQL's own header editor can add more.
    // A partner token lives 10 minutes: on 401 the page gets a new one and tries once more.
    async function fetcher(params, opts) {
      // Right after a tab switch GraphiQL 3 may still send the previous tab's operationName with the
      // new tab's document; an operationName the document does not define is dropped, not sent.
      const name = params.operationName;
      const words = (params.query || "").split(/[^A-Za-z0-9_]+/);
      const defines = (n) => words.some((w, k) => w === n &&
                                         ["query", "mutation", "subscription"].includes(words[k - 1]));
      if (name && !defines(name)) {
        params = Object.assign({}, params, {operationName: undefined});
      }
      const send = () => fetch(url, {method: "POST", body: JSON.stringify(params),
                                     headers: Object.assign({}, JSON_HEADERS, (opts && opts.headers) || {},
                                                            authHeaders)});
      let r = await send();
      if (r.status === 401 && actor && actor.kind === "partner") { await act(); r = await send(); }
      return r.json();
    }
    const root = ReactDOM.createRoot(document.getElementById("graphiql"));
    root.render(React.createElement(GraphiQL, {fetcher, defaultTabs: TABS, defaultEditorToolsVisibility: true,
                                               storage: {getItem: () => null, setItem() {}, removeItem() {},
                                                         clear() {}, length: 0}}));

    function addOption(group, value, text) {
      const o = document.createElement("option");
      o.value = JSON.stringify(value);
      o.textContent = text;
      group.appendChild(o);
    }
    fetch("/demo/users").then(r => r.json()).then(users => {
      const group = document.getElementById("demo-users");
      for (const u of users) {
        addOption(group, {kind: "user", tenant: u.tenant, user: u.user},
                  `${u.tenant} · ${u.user} (${u.display_name}) — ${u.role} @ ${u.scope}`);
      }
      select.dataset.users = String(users.length);
    });
    fetch("/demo/partner-clients").then(r => r.json()).then(clients => {
      const group = document.getElementById("demo-partners");
      for (const p of clients) {
        addOption(group, Object.assign({kind: "partner"}, p),
                  `${p.tenant} · ${p.unit} · ${p.label} — partner client ${p.client_id}`);
      }
      select.dataset.partners = String(clients.length);
    });
    select.addEventListener("change", () => {
      actor = select.value ? JSON.parse(select.value) : null;
      act();
    });
  </script>
</body>
</html>
"""
