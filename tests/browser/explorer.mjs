// The demo explorer in a real browser (issues #12, #25): the system's headless Chromium, driven by
// playwright-core (no browser download). Opens GraphiQL at /graphql of a running demo server as a
// newcomer would (empty browser profile) and checks what a portal team found wrong: no error before
// the first click, the docs loaded for the chosen actor, every example tab running as it opens with
// its intended actor, the actor remembered across a reload, the page in Chinese with an English
// switch (remembered too). Screenshots: $GONGZHI_ARTIFACTS/explorer-*.png.
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
  // Every answer of /graphql the page received, to show that none failed unasked.
  const answers = [];
  page.on("response", async (r) => {
    if (!r.url().startsWith(`${base}/graphql`) || r.request().method() !== "POST") return;
    let body = null;
    try { body = await r.json(); } catch { body = null; }
    answers.push({ status: r.status(), request: r.request().postData() || "", body });
  });

  const demoUsers = await (await fetch(`${base}/demo/users`)).json();
  const clients = await (await fetch(`${base}/demo/partner-clients`)).json();
  assert.ok(demoUsers.length >= 2 && clients.length >= 1, "the demo is seeded");

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

  const editorValue = (selector) => page.evaluate((sel) => {
    const cm = document.querySelector(`${sel} .CodeMirror`);
    return cm && cm.CodeMirror ? cm.CodeMirror.getValue() : "";
  }, selector);
  // The text of GraphiQL's result pane, parsed (the CodeMirror 5 editor keeps itself on its element).
  async function shownResult() {
    const text = await editorValue(".result-window");
    return text ? JSON.parse(text) : null;
  }

  // Waits until the page acts as `ready` ("user:NAME" / "partner:CLIENT_ID") with its schema loaded.
  async function settled(ready) {
    await page.waitForFunction((r) => {
      const s = document.getElementById("demo-status").dataset.ready;
      return (s === r && document.body.dataset.schema === r) || s === "error";
    }, ready, { timeout: 30000 });
    const status = await page.locator("#demo-status").textContent();
    assert.equal(await page.locator("#demo-status").getAttribute("data-ready"), ready, status);
    return status;
  }

  async function pick(predicate, ready) {
    const value = await page.evaluate((src) => {
      const test = new Function("o", `return (${src})(o)`);
      const option = [...document.querySelectorAll("#demo-user option")].find((o) => o.value && test(JSON.parse(o.value)));
      return option ? option.value : null;
    }, predicate.toString());
    assert.ok(value, `the picker offers ${predicate}`);
    await page.selectOption("#demo-user", value);
    return settled(ready);
  }

  async function openTab(operation) {
    await page.locator(".graphiql-tab", { hasText: operation }).first().click();
    await page.waitForFunction((op) => {
      const cm = document.querySelector(".graphiql-query-editor .CodeMirror");
      return cm && cm.CodeMirror && cm.CodeMirror.getValue().includes(`query ${op}`)
        && document.getElementById("demo-hint").dataset.tab === op;
    }, operation, { timeout: 10000 });
  }

  // Runs the open tab with the page's run button, returns what the page shows.
  async function runOpenTab(operation) {
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

  async function run(operation) {
    await openTab(operation);
    return runOpenTab(operation);
  }

  async function shot(name) {
    const path = join(artifacts, `explorer-${name}.png`);
    await page.screenshot({ path, fullPage: false });
    console.log(`screenshot: ${path}`);
  }

  const first = demoUsers[0];
  await check("opened fresh, the page acts as the first demo user: schema loaded, no error anywhere", async () => {
    const r = await page.goto(`${base}/graphql`, { waitUntil: "load" });
    assert.equal(r.status(), 200);
    await page.waitForSelector(".graphiql-container", { timeout: 30000 });
    const status = await settled(`user:${first.user}`);
    assert.ok(status.includes(first.user) && status.includes("默认身份"), status);
    assert.equal(await page.locator("#demo-user").inputValue().then((v) => JSON.parse(v).user), first.user);
    assert.ok(await page.locator(".graphiql-tab", { hasText: "GridWorkerOpenCases" }).count() > 0);
    assert.equal(await editorValue(".result-window"), "", "the result pane is empty before the first click");
    assert.ok(answers.length >= 1, "the schema was fetched");
    for (const a of answers) {
      assert.equal(a.status, 200, a.request.slice(0, 80));
      assert.equal(a.body.errors, undefined, JSON.stringify(a.body.errors));
    }
    assert.equal(await page.locator("text=Error fetching schema").count(), 0);
    assert.equal(await page.locator("text=获取模式失败").count(), 0);
    // Its own screens in Chinese: the bar, and GraphiQL's labels.
    assert.equal(await page.evaluate(() => document.documentElement.lang), "zh-CN");
    assert.equal(await page.locator("#demo-lang").textContent(), "English");
    assert.ok(await page.locator(".graphiql-editor-tools button", { hasText: "变量" }).count() === 1);
    assert.deepEqual(external, [], "requests to other origins");
    await shot("loaded");
  });

  await check("a grid leader, picked in the page, gets the docs of the schema at once", async () => {
    const status = await pick((o) => o.kind === "user" && o.tenant === "langya" && o.user === "langya.grid", `user:${GRID}`);
    assert.match(status, /langya\.grid/);
    assert.ok(!status.includes("默认身份"), status);
    await page.locator('.graphiql-sidebar button[aria-label="显示文档"]').click();
    await page.waitForSelector(".graphiql-doc-explorer", { timeout: 10000 });
    await page.waitForFunction(() => {
      const d = document.querySelector(".graphiql-doc-explorer");
      return d && [...d.querySelectorAll(".graphiql-doc-explorer-type-name")].some((a) => a.textContent === "Query");
    }, null, { timeout: 20000 });
    const docs = await page.locator(".graphiql-doc-explorer").textContent();
    assert.ok(docs.includes("根类型") && docs.includes("全部类型"), docs.slice(0, 200));
    for (const type of ["Query", "Mutation", "Case", "Household"]) {
      assert.ok(await page.locator(".graphiql-doc-explorer .graphiql-doc-explorer-type-name", { hasText: type }).count() > 0, type);
    }
    assert.equal(await page.locator(".graphiql-doc-explorer-error").count(), 0, "no 'Error fetching schema'");
    await shot("docs");
    await page.locator('.graphiql-sidebar button[aria-label="隐藏文档"]').click();
  });

  let grid, resident;
  const GRID_OP = "GridWorkerOpenCases";
  await check("the grid leader sees the open cases of the grids", async () => {
    grid = await run(GRID_OP);
    assert.equal(grid.errors, undefined, JSON.stringify(grid.errors));
    assert.ok(grid.data.cases.totalCount >= 1, "the demo grid has open cases");
    const query = await editorValue(".graphiql-query-editor");
    assert.deepEqual(grid, await apiAs(GRID, query), "the page shows what the API answers the grid leader");
    await shot("grid-leader");
  });

  await check("a resident, picked in the page, runs the same operation and sees only their own cases", async () => {
    await pick((o) => o.kind === "user" && o.tenant === "langya" && o.user === "langya.resident", `user:${RESIDENT}`);
    resident = await run(GRID_OP);
    assert.equal(resident.errors, undefined, JSON.stringify(resident.errors));
    const query = await editorValue(".graphiql-query-editor");
    assert.deepEqual(resident, await apiAs(RESIDENT, query), "the page shows what the API answers the resident");
    const numbers = (b) => b.data.cases.nodes.map((c) => c.number).sort();
    assert.notDeepEqual(numbers(resident), numbers(grid), "the same operation answers per role");
    assert.ok(numbers(grid).some((n) => !numbers(resident).includes(n)),
      "the grid leader sees a case the resident does not");
    await shot("resident");
  });

  await check("a partner system, picked in the page, gets its token at /oauth/token and reads its shared data", async () => {
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
    const agreements = shared.data.myAgreementsConnection;
    assert.ok(agreements.nodes.length >= 1, "the partner's agreements in force");
    assert.equal(agreements.totalCount, agreements.nodes.length, JSON.stringify(agreements));
    assert.ok(agreements.nodes.every((a) => a.title.includes(c.unit)), JSON.stringify(agreements.nodes));
    assert.ok(agreements.nodes[0].sharedData.includes("ACTIVITY_READ"), JSON.stringify(agreements.nodes[0]));
    await shot("partner");
    // The same operation as a demo user (staff) is refused: shared views are for partner systems.
    await pick((o) => o.kind === "user" && o.tenant === "langya" && o.user === "langya.grid", `user:${GRID}`);
    const staff = await run("PartnerSharedData");
    assert.equal(staff.data, null, JSON.stringify(staff));
    assert.ok(staff.errors.some((e) => e.extensions.code === "FORBIDDEN" && e.path[0] === "myAgreementsConnection"),
      JSON.stringify(staff.errors));
  });

  // Every example tab, opened as a newcomer would: the bar names the actor it is meant for and offers
  // to switch to one; then its variables are filled for that actor and the run button answers with no error.
  const tabs = await page.evaluate(() => TABS.map((t) => ({ name: t.name, actor: t.actor, variables: t.variables })));
  assert.ok(tabs.length >= 9, JSON.stringify(tabs.map((t) => t.name)));
  for (const tab of tabs) {
    await check(`example tab ${tab.name} runs as it opens, for ${tab.actor || "any demo user"}`, async () => {
      await openTab(tab.name);
      if (await page.locator("#demo-switch").isVisible()) {
        const target = JSON.parse(await page.locator("#demo-switch").getAttribute("data-target"));
        await page.locator("#demo-switch").click();
        await settled(target.kind === "partner" ? `partner:${target.client_id}` : `user:${target.user}`);
      }
      const actor = JSON.parse(await page.locator("#demo-user").inputValue());
      if (tab.actor === "partner") assert.equal(actor.kind, "partner");
      else if (tab.actor) assert.equal(actor.role, tab.actor, JSON.stringify(actor));
      else assert.equal(actor.kind, "user");
      const key = actor.kind === "partner" ? `partner:${actor.client_id}` : `user:${actor.user}`;
      await page.waitForFunction((k) => document.body.dataset.filled === k, `${key}|${tab.name}`, { timeout: 20000 });
      const hint = await page.locator("#demo-hint").textContent();
      assert.ok(hint.startsWith("本示例适用于"), hint);
      if (tab.variables.length && actor.kind === "user") {
        const vars = await (await fetch(`${base}/demo/example-variables?tenant=${actor.tenant}&user=${actor.user}`)).json();
        const wanted = vars.variables[tab.name];
        assert.equal(vars.missing[tab.name], undefined, JSON.stringify(vars.missing));
        const text = await editorValue(".graphiql-editor-tool .graphiql-editor:not(.hidden)");
        // Variables with defaults ($first, $after) are left to their defaults: nothing to fill.
        if (Object.keys(wanted).length) assert.deepEqual(JSON.parse(text), wanted, "the variables shown");
        else assert.equal(text.trim(), "", "no variables to fill");
      }
      const shown = await runOpenTab(tab.name);
      assert.equal(shown.errors, undefined, JSON.stringify(shown.errors));
      assert.ok(shown.data && Object.values(shown.data).every((v) => v !== null), JSON.stringify(shown).slice(0, 300));
      await shot(`tab-${tab.name}`);
    });
  }

  await check("the chosen actor is remembered across a reload", async () => {
    const chosen = await pick((o) => o.kind === "user" && o.tenant === "langya" && o.user === "langya.resident",
      `user:${RESIDENT}`);
    assert.ok(chosen.includes(RESIDENT));
    await page.reload({ waitUntil: "load" });
    const status = await settled(`user:${RESIDENT}`);
    assert.ok(!status.includes("默认身份"), status);
    assert.equal(JSON.parse(await page.locator("#demo-user").inputValue()).user, RESIDENT);
    await shot("reloaded");
  });

  await check("the English switch changes the page's labels, and is remembered", async () => {
    await page.locator("#demo-lang").click();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
    assert.equal(await page.locator("#demo-lang").textContent(), "中文");
    assert.match(await page.locator("#demo-status").textContent(), /^requests carry langya\.resident's token/);
    assert.equal(await page.locator(".graphiql-editor-tools button", { hasText: "Variables" }).count(), 1);
    assert.equal(await page.locator(".graphiql-editor-tools button", { hasText: "变量" }).count(), 0);
    assert.ok((await page.locator("#demo-bar").textContent()).includes("Act as:"));
    await page.reload({ waitUntil: "load" });
    await settled(`user:${RESIDENT}`);
    assert.equal(await page.locator("#demo-lang").textContent(), "中文");
    assert.equal(await page.locator(".graphiql-editor-tools button", { hasText: "Variables" }).count(), 1);
    await shot("english");
    await page.locator("#demo-lang").click();
    assert.equal(await page.locator(".graphiql-editor-tools button", { hasText: "变量" }).count(), 1);
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
