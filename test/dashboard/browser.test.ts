/**
 * The dashboard in headless Chromium (Debian's `chromium`, driven by playwright-core), over a real
 * Redis that the real middleware filled from two workerd isolates labelled as two regions, with
 * kill switches in the Edge Config stand-in. Acts from the page with the keyboard alone.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StartedLocalDashboard, startLocalDashboard } from "../../src/dashboard/local/server.js";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { openIncident } from "../../src/ops/incidents.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { type RedisFixture, startRedisFixture, until } from "../integration/redis-fixture.js";
import { type Harness, startHarness } from "../support/harness.js";
import { requireProgram } from "../support/programs.js";
import { dashboardActions } from "./actions-under-test.js";
import { cellTexts, focusedMatches, tabTo, waitForText } from "./browser-page.js";
import { DASHBOARD_RULES, sendTraffic } from "./fixtures.js";

const SCREENSHOT = process.env.DASHBOARD_SCREENSHOT ?? join(".tmp", "dashboard.png");
/** The isolates MAC their enforcement reports with it, so the page shows regions as confirmed. */
const REPORT_SECRET = "browser-test-report-secret-0123456789";
const require = createRequire(import.meta.url);
const AXE = readFileSync(join(dirname(require.resolve("axe-core")), "axe.min.js"), "utf8");

let redis: RedisFixture;
let ec: EdgeConfigServer;
let iad: Harness;
let fra: Harness;
let dash: StartedLocalDashboard;
/** The newest one-time access URL the dashboard minted (it prints them to the terminal). */
let accessUrl = "";
let browser: Browser;
let page: Page;
let closeActions: () => Promise<void> = async () => {};
let notified: string[] = [];
/** What the middleware answered while seeding (see sendTraffic). */
let acme = { blocked: 0, limited: 0, refused: 0 };
let globex = { blocked: 0, limited: 0, refused: 0 };

/** Discovery of the scripted incident (whole seconds, as stored): 90 minutes ago, so GDPR's 72 h clock shows 2 d 22 h left. */
const DISCOVERED = Math.floor((Date.now() - 90 * 60_000) / 1000) * 1000;
const RULES = { ...DASHBOARD_RULES, rules: DASHBOARD_RULES.rules.filter((r) => r.kind !== "kill-switch") };
const SEEDED_SWITCH = {
  id: "freeze-patients",
  version: 1,
  match: { path: "/api/:tenant/patients/**" },
  status: 503,
  reason: "patient export leak",
  incident: "INC-2041",
  by: "alice",
  at: new Date().toISOString(),
  expiresAt: new Date(Date.now() + 2 * 3_600_000).toISOString(),
};

beforeAll(async () => {
  // First, so a machine without chromium fails at once, naming it (test/support/programs.ts).
  const executablePath = requireProgram("chromium");
  redis = await startRedisFixture();
  ec = await startEdgeConfigServer({
    items: { containment: RULES, "containment_kill_freeze-patients": SEEDED_SWITCH },
  });
  const edge = (region: string) =>
    startHarness("workerd", {
      edgeConfig: ec.connectionString,
      redis: redis.connection,
      env: { VERCEL_REGION: region, CONTAINMENT_REPORT_SECRET: REPORT_SECRET },
      options: { refreshMs: 100 },
    });
  [iad, fra] = await Promise.all([edge("iad1"), edge("fra1")]);
  // The scripted incident: acme's patient exports blocked in both regions, globex hammering exports.
  acme = await sendTraffic(iad, { blocks: 6, exports: 0, tenant: "acme", ip: "198.51.100.20" });
  globex = await sendTraffic(fra, { blocks: 3, exports: 5, tenant: "globex", ip: "203.0.113.9" });
  // The incident the responders opened, with regulatory roles, so its clocks count down on the page.
  await openIncident(
    { client: restRedis(redis.connection), prefix: "containment:" },
    {
      id: "INC-2041",
      title: "Patient export leak",
      discovered: DISCOVERED,
      dataClasses: ["phi"],
      hipaaRole: "covered-entity",
      gdprRole: "controller",
      scopeRoutes: ["/api/:tenant/patients/**"],
      actor: "alice",
    },
  );
  const actions = await dashboardActions({ ec, redis });
  closeActions = actions.close;
  notified = actions.notified;
  dash = await startLocalDashboard({
    redis: restRedis(redis.connection),
    edgeConfig: ec.connectionString,
    reportSecret: REPORT_SECRET,
    actions: actions.actions,
    refreshMs: 300,
    port: 0,
    onAccessUrl: (url) => {
      accessUrl = url;
    },
  });
  browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await dash?.close();
  await closeActions();
  await Promise.all([iad?.close(), fra?.close()]);
  await ec?.close();
  await redis?.close();
});

// Many steps, each waiting on a condition: generous caps for a loaded 2-core machine.
describe("the dashboard in a browser", { timeout: 120_000 }, () => {
  it("opens by the printed URL, drops the token from the address bar and keeps the session in an HttpOnly cookie", async () => {
    await page.goto(dash.url);
    expect(page.url()).toBe(`${dash.origin}/`);
    const cookies = await page.context().cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: "Strict" });
    const history = await page.evaluate(() => window.history.length);
    expect(history).toBeLessThanOrEqual(2);
  });

  it("shows the seeded numbers: chart, kill switches, regions and top lists", async () => {
    await page.waitForSelector("body[data-mode='sse']", { timeout: 15_000 });
    expect(acme.blocked + globex.blocked).toBe(9);
    await waitForText(
      page,
      "#chart-summary",
      /freeze-patients \(block\): \d+ in \d\d:\d\d UTC \(last complete minute\), \d+ so far this minute \(\d+ s\), 9 in 30 min/,
    );
    expect(await page.locator("#chart canvas").count()).toBeGreaterThan(0);
    if (globex.limited > 0)
      await waitForText(
        page,
        "#chart-summary",
        new RegExp(`export-limit \\(rate-limited\\): .*, ${globex.limited} in 30 min`),
      );
    await page.waitForFunction(
      () => document.querySelectorAll("#regions-table tbody tr").length === 2,
      null,
      {
        timeout: 15_000,
      },
    );
    const switches = await cellTexts(page, "#switches-table");
    expect(switches).toHaveLength(1);
    expect(switches[0]?.slice(0, 5)).toEqual([
      "freeze-patients (v1)",
      "all methods /api/:tenant/patients/** → 503",
      "INC-2041",
      "patient export leak",
      "alice",
    ]);
    expect(switches[0]?.[5]).toMatch(/^1 h 5\d min$/);
    const regions = await cellTexts(page, "#regions-table");
    expect(regions.map((r) => r[0])).toEqual(["fra1", "iad1"]);
    expect(regions[0]?.[1]).toMatch(/^[0-9a-f]{16}$/);
    expect(regions[0]?.[1]).toBe(regions[1]?.[1]);
    const g = String(globex.blocked + globex.refused);
    const byCount = (rows: string[][]) => [...rows].sort((a, b) => a[0]?.localeCompare(b[0] ?? "") ?? 0);
    expect(byCount(await cellTexts(page, "#top-tenant"))).toEqual([
      ["acme", "6"],
      ["globex", g],
    ]);
    expect(byCount(await cellTexts(page, "#top-ip"))).toEqual([
      ["198.51.100.0/24", "6"],
      ["203.0.113.0/24", g],
    ]);
  });

  it("shows the open incident with its regulatory clocks counting down", async () => {
    await waitForText(page, "#incident-body", /INC-2041: Patient export leak/);
    const incident = await page.$$eval("#incident-body dt, #incident-body dd", (nodes) =>
      nodes.map((n) => (n.textContent ?? "").trim()),
    );
    const value = (name: string) => incident[incident.indexOf(name) + 1] ?? "";
    expect(value("Data classes")).toBe("phi");
    const clocks = (await (await page.request.get(`${dash.origin}/api/v1/snapshot`)).json()) as {
      incident: { clocks: Array<{ name: string; deadline: number; msLeft: number }> } | null;
    };
    const gdpr = clocks.incident?.clocks.find((c) => c.name.includes("GDPR"));
    expect(gdpr?.deadline).toBe(DISCOVERED + 72 * 3_600_000);
    // Each clock names its framework once ("GDPR Art. 33(1)", "HIPAA 45 CFR §164.404").
    expect(gdpr?.name).toMatch(/^GDPR Art\. 33\(1\): /);
    expect(clocks.incident?.clocks.filter((c) => /\b(GDPR|HIPAA) \1\b/.test(c.name))).toEqual([]);
    expect(incident).toContain(gdpr?.name);
    expect(value(gdpr?.name ?? "")).toMatch(/^2 d 22 h left \(due /);
    expect(clocks.incident?.clocks.every((c) => incident.includes(c.name))).toBe(true);
    // Counting down: a later snapshot has less time left on every clock.
    const later = await page.waitForFunction(
      async (first) => {
        const next = await (await fetch("api/v1/snapshot")).json();
        return next.incident.clocks[0].msLeft < first ? next.incident.clocks[0].msLeft : false;
      },
      clocks.incident?.clocks[0]?.msLeft ?? 0,
      { timeout: 15_000, polling: 500 },
    );
    expect(await later.jsonValue()).toBeLessThan(clocks.incident?.clocks[0]?.msLeft ?? 0);
  });

  it("shows new events and counts without a reload", async () => {
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42;
    });
    await sendTraffic(iad, { blocks: 4, exports: 0, tenant: "initech", ip: "192.0.2.50" });
    await waitForText(page, "#chart-summary", /freeze-patients \(block\): .*, 13 in 30 min/);
    await waitForText(page, "#events-table", /192\.0\.2\.0\/24/);
    expect(await cellTexts(page, "#top-tenant")).toContainEqual(["initech", "4"]);
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  });

  it("has no serious or critical accessibility violations (axe-core, WCAG 2.2 AA)", async () => {
    await page.evaluate(AXE);
    const result = (await page.evaluate(() =>
      (window as unknown as { axe: { run: (o: unknown) => Promise<unknown> } }).axe.run({
        runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
      }),
    )) as { violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> };
    const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    expect(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
  });

  it("offers the chart's data as a table, reachable by keyboard", async () => {
    await page.focus("body");
    await tabTo(page, "#chart-data summary");
    await page.keyboard.press("Enter");
    expect(await page.getAttribute("#chart-data", "open")).not.toBeNull();
    const header = await page.$$eval("#chart-table thead th", (ths) => ths.map((th) => th.textContent ?? ""));
    expect(header.slice(0, 2)).toEqual(["Minute (UTC)", "freeze-patients (block)"]);
    const rows = await cellTexts(page, "#chart-table");
    const total = (column: number) => rows.reduce((sum, row) => sum + Number(row[column] ?? 0), 0);
    expect(total(1)).toBe(13);
    const limited = header.indexOf("export-limit (rate-limited)");
    expect(limited > 0 ? total(limited) : 0).toBe(globex.limited);
  });

  it("keeps the keyboard focus on a control while live updates re-render the page", async () => {
    await page.focus("body");
    await tabTo(page, 'button[aria-label="Extend switch freeze-patients"]');
    // Let the table re-render: a new switch row changes what it shows.
    ec.setItem("containment_kill_other", {
      id: "other",
      match: { path: "/api/:tenant/other" },
      reason: "r",
      incident: "INC-2041",
    });
    await waitForText(page, "#switches-table", /other \(v0\)/);
    expect(await focusedMatches(page, 'button[aria-label="Extend switch freeze-patients"]')).toBe(true);
    ec.deleteItem("containment_kill_other");
    await page.waitForFunction(
      () => !document.querySelector("#switches-table")?.textContent?.includes("other (v0)"),
    );
    expect(await focusedMatches(page, 'button[aria-label="Extend switch freeze-patients"]')).toBe(true);
  });

  it("flips a kill switch with the keyboard alone: previewed, confirmed, audited, notified and enforced in both regions", async () => {
    expect((await fra.fetch("/api/globex/invoices/7")).status).toBe(200);
    await page.focus("body");
    await tabTo(page, "#kill-path");
    await page.keyboard.type("/api/:tenant/invoices/**");
    await page.keyboard.press("Tab");
    await page.keyboard.type("invoice scraping");
    await page.keyboard.press("Tab");
    await page.keyboard.type("INC-2041");
    await page.keyboard.press("Tab");
    await page.keyboard.type("globex");
    await tabTo(page, "#kill-id");
    await page.keyboard.type("freeze-invoices");
    await tabTo(page, "#kill-submit");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#confirm[open]");
    expect(await page.textContent("#confirm-text")).toContain(
      "Block every method /api/:tenant/invoices/** for tenants globex for 2h",
    );
    // Focus starts on Cancel, so a stray Enter does nothing harmful.
    expect(await focusedMatches(page, "#confirm-cancel")).toBe(true);
    await tabTo(page, "#confirm-ok", 3);
    await page.keyboard.press("Enter");
    await waitForText(page, "#action-result", /freeze-invoices/);
    await waitForText(page, "#switches-table", /freeze-invoices/);
    expect(ec.items()["containment_kill_freeze-invoices"]).toMatchObject({
      match: { path: "/api/:tenant/invoices/**", tenants: ["globex"] },
      incident: "INC-2041",
      reason: "invoice scraping",
    });
    await until(
      async () => (await fra.fetch("/api/globex/invoices/7")).status === 503,
      10_000,
      "enforcement in fra1",
    );
    await until(
      async () => (await iad.fetch("/api/globex/invoices/7")).status === 503,
      10_000,
      "enforcement in iad1",
    );
    expect((await iad.fetch("/api/acme/invoices/7")).status).toBe(200);
    await waitForText(page, "#audit-table", /kill/);
    expect(await page.textContent("#action-result")).toMatch(/audited as #1–#2/);
    expect(notified.some((line) => line.includes("freeze-invoices"))).toBe(true);
    await waitForText(page, "#health-list", /verified link by link/);
  });

  it("lifts it with the keyboard alone, focus visible throughout, and the route passes again", async () => {
    await page.focus("body");
    await tabTo(page, 'button[aria-label="Lift switch freeze-invoices"]');
    await page.keyboard.press("Enter");
    await page.waitForSelector("#confirm[open]");
    expect(await focusedMatches(page, "#confirm-reason")).toBe(true);
    await page.keyboard.type("scraper blocked upstream");
    await page.keyboard.press("Enter");
    await waitForText(page, "#action-result", /lift/i);
    await page.waitForFunction(
      () => !document.querySelector("#switches-table")?.textContent?.includes("freeze-invoices"),
      null,
      {
        timeout: 15_000,
      },
    );
    expect(ec.items()["containment_kill_freeze-invoices"]).toBeUndefined();
    await until(
      async () => (await fra.fetch("/api/globex/invoices/7")).status === 200,
      10_000,
      "the lift in fra1",
    );
  });

  it("falls back to polling where server-sent events are unavailable, and still updates", async () => {
    const context = await browser.newContext();
    await context.addInitScript(() => {
      // A proxy that buffers event streams looks like this to the page: no usable EventSource.
      delete (window as unknown as { EventSource?: unknown }).EventSource;
    });
    const polling = await context.newPage();
    // A second session needs a new one-time URL: the printed one was spent; a visit without a
    // session has the server print the next (to the terminal; here, onAccessUrl).
    expect((await fetch(dash.url, { redirect: "manual" })).status).toBe(401);
    expect(accessUrl).toMatch(/\?token=[\w-]{43}$/);
    await polling.goto(accessUrl);
    await polling.waitForSelector("body[data-mode='polling']", { timeout: 20_000 });
    const before = await polling.getAttribute("body", "data-generated-at");
    await polling.waitForFunction((b) => document.body.dataset.generatedAt !== b, before, {
      timeout: 20_000,
    });
    expect(await polling.textContent("#live")).toContain("polling");
    expect(await polling.textContent("#switches-table")).toContain("freeze-patients");
    // Log out from the page (POST with the session's CSRF token): the cookie opens nothing after.
    await polling.click("#logout");
    await polling.waitForFunction(() => document.getElementById("live")?.textContent === "Logged out.");
    expect((await context.request.get(`${dash.origin}/api/v1/snapshot`)).status()).toBe(401);
    await context.close();
  });

  it("saves a screenshot for the README", async () => {
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.evaluate(() => {
      (document.activeElement as HTMLElement | null)?.blur();
      window.scrollTo(0, 0);
    });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
  });
});
