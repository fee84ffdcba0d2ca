// The demo explorer in a real browser (issue #12): the system's headless Chromium, driven by
// playwright-core (no browser download). Opens GraphiQL at /graphql of a running demo server, picks
// demo users and a partner system in the page's picker, runs example operations through the page
// and checks that the page shows each actor's own answer. Screenshots: $GONGZHI_ARTIFACTS/explorer-*.png.
//
//   GONGZHI_EXPLORER_URL=http://127.0.0.1:PORT  GONGZHI_ARTIFACTS=dir  node explorer.mjs
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const base = process.env.GONGZHI_EXPLORER_URL;
const artifacts = process.env.GONGZHI_ARTIFACTS;
const executablePath = process.env.GONGZHI_CHROMIUM || "/usr/bin/chromium";
assert.ok(base && artifacts, "set GONGZHI_EXPLORER_URL and GONGZHI_ARTIFACTS");
mkdirSync(artifacts, { recursive: true });

// The two demo users whose answers to the same operation must differ, and the tenant they are in.
const TENANT = "langya";
const GRID = "langya.grid"; // grid_leader: the open cases of the grids
const RESIDENT = "langya.resident"; // resident: only the cases they reported

const userDataDir = mkdtempSync(join(tmpdir(), "gongzhi-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1400, height: 900 },
});
const failures = [];
let passed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (e) {
    failures.push(name);
    console.log(`not ok - ${name}\n  ${String(e && e.stack || e).split("\n").join("\n  ")}`);
  }
}

try {
  // Nothing may leave the machine: the page must not need a CDN. Every other origin is refused and noted.
  const external = [];
  await context.route("**/*", (route) => {
    const u = route.request().url();
    if (u.startsWith(base) || u.startsWith("data:") || u.startsWith("blob:")) return route.continue();
    external.push(u);
    return route.abort();
  });
  const page = context.pages()[0] || (await context.newPage());
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));

  // What the API itself answers for a demo user (the page must show the same).
  async function apiAs(user, query) {
    const t = await fetch(`${base}/demo/token`, { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ tenant: TENANT, user }) });
    assert.equal(t.status, 200, `demo token for ${user}`);
    const { headers } = await t.json();
    const r = await fetch(`${base}/graphql`, { method: "POST",
      headers: { ...headers, "content-type": "application/json", accept: "application/graphql-response+json" },
      body: JSON.stringify({ query }) });
    return r.json();
  }

  // The text of GraphiQL's result pane, parsed (the CodeMirror 5 editor keeps itself on its element).
  async function shownResult() {
    const text = await page.evaluate(() => {
      const cm = document.querySelector(".result-window .CodeMirror");
      return cm && cm.CodeMirror ? cm.CodeMirror.getValue() : "";
    });
    return text ? JSON.parse(text) : null;
  }

  async function pick(predicate, ready) {
    const value = await page.evaluate((src) => {
      const test = new Function("o", `return (${src})(o)`);
      const option = [...document.querySelectorAll("#demo-user option")].find((o) => o.value && test(JSON.parse(o.value)));
      return option ? option.value : null;
    }, predicate.toString());
    assert.ok(value, `the picker offers ${predicate}`);
    await page.selectOption("#demo-user", value);
    await page.waitForFunction((r) => {
      const s = document.getElementById("demo-status").dataset.ready;
      return s === r || s === "error";
    }, ready, { timeout: 20000 });
    const status = await page.locator("#demo-status").textContent();
    assert.equal(await page.locator("#demo-status").getAttribute("data-ready"), ready, status);
    return status;
  }

  // Opens the example tab of an operation, runs it with the page's run button, returns what the page shows.
  async function run(operation) {
    await page.locator(".graphiql-tab", { hasText: operation }).first().click();
    await page.waitForFunction((op) => {
      const cm = document.querySelector(".graphiql-query-editor .CodeMirror");
      return cm && cm.CodeMirror && cm.CodeMirror.getValue().includes(`query ${op}`);
    }, operation, { timeout: 10000 });
    const responded = page.waitForResponse((r) => r.url().startsWith(`${base}/graphql`)
      && r.request().method() === "POST" && (r.request().postData() || "").includes(operation));
    await page.locator(".graphiql-execute-button").click();
    const response = await responded;
    if (!response.ok()) throw new Error(`${response.status()} for ${response.request().postData()}: ${await response.text()}`);
    const body = await response.json();
    // The pane shows exactly that response.
    await page.waitForFunction((expected) => {
      const cm = document.querySelector(".result-window .CodeMirror");
      if (!cm || !cm.CodeMirror) return false;
      try { return JSON.stringify(JSON.parse(cm.CodeMirror.getValue())) === expected; } catch { return false; }
    }, JSON.stringify(body), { timeout: 20000 });
    return shownResult();
  }

  async function shot(name) {
    const path = join(artifacts, `explorer-${name}.png`);
    await page.screenshot({ path, fullPage: false });
    console.log(`screenshot: ${path}`);
  }

  await check("the explorer page loads GraphiQL from the server itself, offline", async () => {
    const r = await page.goto(`${base}/graphql`, { waitUntil: "load" });
    assert.equal(r.status(), 200);
    await page.waitForSelector(".graphiql-container", { timeout: 30000 });
    await page.waitForFunction(() => document.getElementById("demo-user").dataset.users
      && document.getElementById("demo-user").dataset.partners, null, { timeout: 20000 });
    assert.ok(await page.locator(".graphiql-tab", { hasText: "GridWorkerOpenCases" }).count() > 0);
    assert.deepEqual(external, [], "requests to other origins");
    await shot("loaded");
  });

  let grid, resident;
  const GRID_OP = "GridWorkerOpenCases";
  await check("a grid leader, picked in the page, sees the open cases of the grids", async () => {
    const status = await pick((o) => o.kind === "user" && o.tenant === "langya" && o.user === "langya.grid", `user:${GRID}`);
    assert.match(status, /langya\.grid/);
    grid = await run(GRID_OP);
    assert.equal(grid.errors, undefined, JSON.stringify(grid.errors));
    assert.ok(grid.data.cases.totalCount >= 1, "the demo grid has open cases");
    const query = await page.evaluate(() => document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.getValue());
    assert.deepEqual(grid, await apiAs(GRID, query), "the page shows what the API answers the grid leader");
    await shot("grid-leader");
  });

  await check("a resident, picked in the page, runs the same operation and sees only their own cases", async () => {
    await pick((o) => o.kind === "user" && o.tenant === "langya" && o.user === "langya.resident", `user:${RESIDENT}`);
    resident = await run(GRID_OP);
    assert.equal(resident.errors, undefined, JSON.stringify(resident.errors));
    const query = await page.evaluate(() => document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.getValue());
    assert.deepEqual(resident, await apiAs(RESIDENT, query), "the page shows what the API answers the resident");
    const numbers = (b) => b.data.cases.nodes.map((c) => c.number).sort();
    assert.notDeepEqual(numbers(resident), numbers(grid), "the same operation answers per role");
    assert.ok(numbers(grid).some((n) => !numbers(resident).includes(n)),
      "the grid leader sees a case the resident does not");
    await shot("resident");
  });

  await check("a partner system, picked in the page, gets its token at /oauth/token and reads its shared data", async () => {
    const clients = await (await fetch(`${base}/demo/partner-clients`)).json();
    assert.ok(clients.length >= 1, "the demo seeds a partner client");
    const c = clients[0];
    const tokenCalls = [];
    const onRequest = (r) => { if (r.url() === `${base}/oauth/token`) tokenCalls.push(r.postData() || ""); };
    page.on("request", onRequest);
    const status = await pick(new Function("o", `return o.kind === "partner" && o.client_id === ${JSON.stringify(c.client_id)}`),
      `partner:${c.client_id}`);
    page.off("request", onRequest);
    assert.equal(tokenCalls.length, 1, "one client-credentials exchange");
    assert.match(tokenCalls[0], /grant_type=client_credentials/);
    assert.ok(tokenCalls[0].includes(`client_id=${encodeURIComponent(c.client_id)}`));
    assert.ok(status.includes(c.unit), status);
    const shared = await run("PartnerSharedData");
    assert.equal(shared.errors, undefined, JSON.stringify(shared.errors));
    assert.ok(shared.data.myAgreements.length >= 1, "the partner's agreements in force");
    assert.ok(shared.data.myAgreements.every((a) => a.title.includes(c.unit)), JSON.stringify(shared.data.myAgreements));
    assert.ok(shared.data.myAgreements[0].grants.includes("activity.read"));
    await shot("partner");
    // The same operation as a demo user (staff) is refused: shared views are for partner systems.
    await pick((o) => o.kind === "user" && o.tenant === "langya" && o.user === "langya.grid", `user:${GRID}`);
    const staff = await run("PartnerSharedData");
    assert.equal(staff.data, null, JSON.stringify(staff));
    assert.ok(staff.errors.some((e) => e.extensions.code === "FORBIDDEN" && e.path[0] === "myAgreements"),
      JSON.stringify(staff.errors));
  });

  await check("no request left the machine and the page raised no error", async () => {
    assert.deepEqual(external, []);
    assert.deepEqual(pageErrors, []);
  });
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
