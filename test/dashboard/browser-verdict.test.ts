/**
 * The answer at the top of the dashboard, in headless Chromium, state by state, over a real Redis the
 * real middleware filled from two workerd isolates (iad1, fra1) with MAC'd enforcement reports: a
 * switch that holds (contained), the same switch narrowed so it misses a tenant of the incident's
 * declared scope (NOT contained, naming route, method and tenant, with the admitted requests in the
 * chart), and no traffic in scope with the regions gone quiet (unknown, saying which). The
 * dashboard's clock is injected and pinned after each scenario's traffic (pinAfter); moving it five
 * minutes on is how the traffic stops. Screenshots of each state are
 * saved under .tmp/screens (git-ignored).
 */
import { mkdirSync, readFileSync } from "node:fs";
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
import { cellTexts, waitForText } from "./browser-page.js";
import { DASHBOARD_RULES, sendTraffic } from "./fixtures.js";

const SCREENS = join(".tmp", "screens");
const require = createRequire(import.meta.url);
const AXE = readFileSync(join(dirname(require.resolve("axe-core")), "axe.min.js"), "utf8");
const SECRET = "verdict-test-report-secret-0123456789";

/** The tenant of every request is declared by the document, so admitted requests carry it too. */
const RULES = {
  ...DASHBOARD_RULES,
  tenancy: { from: "path", param: "tenant", pattern: "/api/:tenant/**" },
  rules: DASHBOARD_RULES.rules.filter((r) => r.kind !== "kill-switch"),
};
const freeze = (version: number, tenants?: string[]) => ({
  id: "freeze-patients",
  version,
  match: { path: "/api/:tenant/patients/**", ...(tenants ? { tenants } : {}) },
  status: 503,
  reason: "patient export leak",
  incident: "INC-7",
  by: "alice",
  at: new Date().toISOString(),
});

let redis: RedisFixture;
let ec: EdgeConfigServer;
let iad: Harness;
let fra: Harness;
let dash: StartedLocalDashboard;
let browser: Browser;
let page: Page;
/**
 * The dashboard's clock, pinned 30 s into the minute after the traffic a scenario sent: that minute
 * is then its last complete one, however long a loaded machine takes to show it.
 */
let pinned = Date.now();
const pinAfter = (at: number): void => {
  pinned = (Math.floor(at / 60_000) + 1) * 60_000 + 30_000;
};
/** What the browser logged as an error or fetched with a 4xx/5xx, from the first load on. */
const faults: string[] = [];

beforeAll(async () => {
  const executablePath = requireProgram("chromium");
  redis = await startRedisFixture();
  ec = await startEdgeConfigServer({
    items: { containment: RULES, "containment_kill_freeze-patients": freeze(1) },
  });
  const edge = (region: string) =>
    startHarness("workerd", {
      edgeConfig: ec.connectionString,
      redis: redis.connection,
      env: { VERCEL_REGION: region, CONTAINMENT_REPORT_SECRET: SECRET },
      // Every allow kept as an event (the default keeps 1 in 100), so admitted requests name their region.
      options: { refreshMs: 100, mirror: { sampleAllows: 1 } },
    });
  [iad, fra] = await Promise.all([edge("iad1"), edge("fra1")]);
  await openIncident(
    { client: restRedis(redis.connection), prefix: "containment:" },
    {
      id: "INC-7",
      title: "Patient exports of acme and globex",
      dataClasses: ["phi"],
      hipaaRole: "business-associate",
      gdprRole: "processor",
      scopeRoutes: ["/api/:tenant/patients/**"],
      scopeTenants: ["acme", "globex"],
      actor: "alice",
    },
  );
  dash = await startLocalDashboard({
    redis: restRedis(redis.connection),
    edgeConfig: ec.connectionString,
    reportSecret: SECRET,
    refreshMs: 300,
    port: 0,
    now: () => pinned,
    onAccessUrl: () => {},
  });
  browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("console", (message) => {
    if (message.type() === "error") faults.push(`console: ${message.text()}`);
  });
  page.on("response", (response) => {
    if (response.status() >= 400) faults.push(`${response.status()} ${response.url()}`);
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await dash?.close();
  await Promise.all([iad?.close(), fra?.close()]);
  await ec?.close();
  await redis?.close();
});

async function axeViolations(): Promise<string[]> {
  await page.evaluate(AXE);
  const result = (await page.evaluate(() =>
    (window as unknown as { axe: { run: (o: unknown) => Promise<unknown> } }).axe.run({
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
    }),
  )) as { violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> };
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

async function screenshot(name: string): Promise<void> {
  mkdirSync(SCREENS, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SCREENS, `${name}.png`) });
  await page.screenshot({ path: join(SCREENS, `${name}-full.png`), fullPage: true });
}

/** The verdict is the first thing on the page, above the fold. */
async function verdictAtTop(): Promise<void> {
  const box = await page.locator("#verdict").boundingBox();
  expect(box?.y ?? 1_000).toBeLessThan(150);
  expect((box?.y ?? 0) + (box?.height ?? 1_000)).toBeLessThan(900);
}

describe("the dashboard's verdict in a browser", { timeout: 120_000 }, () => {
  it("reads contained when the switch holds for every tenant of the scope and both regions confirm", async () => {
    await sendTraffic(iad, { blocks: 4, exports: 0, tenant: "acme", ip: "198.51.100.20" });
    await sendTraffic(fra, { blocks: 3, exports: 0, tenant: "globex", ip: "203.0.113.9" });
    pinAfter(Date.now());
    await page.goto(dash.url);
    await waitForText(
      page,
      "#verdict-headline",
      /^Contained: 7 requests in scope refused and none admitted/,
      30_000,
    );
    expect(await page.getAttribute("#verdict", "data-state")).toBe("contained");
    expect((await cellTexts(page, "#verdict-regions-table")).map((r) => r.slice(0, 2))).toEqual([
      ["fra1", "✓ confirmed"],
      ["iad1", "✓ confirmed"],
    ]);
    await verdictAtTop();
    // UTC with the zone named, the viewer's own zone labelled.
    expect(await page.textContent("#updated")).toMatch(/^Updated \d\d:\d\d:\d\d UTC\.$/);
    expect(await page.textContent("#zone")).toMatch(/^All times are UTC\. Your zone: /);
    // Every legal role's obligations: the GDPR processor's has no deadline and says why.
    await waitForText(page, "#incident-body", /Clocks as GDPR processor/);
    expect(await page.textContent("#incident-body")).toMatch(/Clocks as HIPAA business associate/);
    expect(await page.textContent("#incident-body")).toMatch(
      /no computed deadline: no fixed deadline in the regulation/,
    );
    expect(await axeViolations()).toEqual([]);
    await screenshot("verdict-contained");
  });

  it("loaded without a 404 or a console error", () => {
    expect(faults).toEqual([]);
  });

  it("reads NOT contained when the switch misses a tenant of the scope, and charts the admitted requests", async () => {
    // Narrowed to acme: globex's patient exports pass again, although the incident is about both.
    ec.setItem("containment_kill_freeze-patients", freeze(2, ["acme"]));
    await until(
      async () => (await fra.fetch("/api/globex/patients/1/export")).status === 200,
      15_000,
      "the narrowed switch in fra1",
    );
    await sendTraffic(fra, { blocks: 3, exports: 0, tenant: "globex", ip: "203.0.113.9" });
    pinAfter(Date.now());
    await waitForText(
      page,
      "#verdict-headline",
      /^NOT contained: \d+ requests? in scope admitted in .*: GET \/api\/globex\/patients\/\S+ \(tenant globex\)/,
      30_000,
    );
    expect(await page.getAttribute("#verdict", "data-state")).toBe("not-contained");
    const admitted = await cellTexts(page, "#verdict-admitted-table");
    expect(admitted.every((r) => r[1] === "GET" && r[2] === "globex")).toBe(true);
    expect(admitted.some((r) => r[5]?.includes("fra1"))).toBe(true);
    // Admitted traffic on the protected route is a series of its own, with values in the legend.
    await waitForText(
      page,
      "#chart-summary",
      /INC-7 scope \(admitted\): \d+ in \d\d:\d\d UTC \(last complete minute\)/,
    );
    const summary = (await page.textContent("#chart-summary")) ?? "";
    expect(Number(/INC-7 scope \(admitted\): .*?(\d+) in 30 min/.exec(summary)?.[1])).toBeGreaterThan(0);
    const legend = await page.$$eval(".u-legend .u-value", (cells) => cells.map((c) => c.textContent ?? ""));
    expect(legend.length).toBeGreaterThan(1);
    expect(legend).not.toContain("--");
    expect(legend[0]).toMatch(/^\d\d:\d\d UTC$/);
    expect(await axeViolations()).toEqual([]);
    await screenshot("verdict-not-contained");
  });

  it("marks the current minute as partial in the chart's data and summary, never as a drop", async () => {
    const newest = (await cellTexts(page, "#chart-table"))[0]?.[0] ?? "";
    expect(newest).toMatch(/^\d\d:\d\d \(partial, \d+ s\)$/);
    expect(await page.textContent("#chart-summary")).toMatch(/so far this minute \(\d+ s\)/);
  });

  it("reads unknown when no traffic in scope arrives and the regions that served it go quiet, saying which", async () => {
    pinned += 5 * 60_000;
    await waitForText(page, "#verdict-headline", /^Unknown: no requests in scope arrived in /, 30_000);
    expect(await page.getAttribute("#verdict", "data-state")).toBe("unknown");
    await waitForText(
      page,
      "#verdict-why",
      /region fra1 not confirmed: silent: no enforcement report since \d\d:\d\d:\d\d UTC/,
    );
    await waitForText(
      page,
      "#verdict-why",
      /region iad1 not confirmed: silent: no enforcement report since \d\d:\d\d:\d\d UTC/,
    );
    expect((await cellTexts(page, "#verdict-regions-table")).map((r) => r[1])).toEqual([
      "? not confirmed",
      "? not confirmed",
    ]);
    expect(await axeViolations()).toEqual([]);
    await screenshot("verdict-unknown");
  });
});
