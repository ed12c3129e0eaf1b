/**
 * The dashboard's detections panel in headless Chromium, over a real Redis the firewall's own
 * detector flush filled (an enumerator quarantined, a monitor-mode twin), plus one detection hash
 * written as a compromised edge could write it (its edge-writable keys hold markup): the panel shows
 * each detection's detector, route, key pseudonym, tenant, what it counted, when, what it did and
 * who released it, renders the markup as text, and stays axe-clean. Saves a screenshot.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StartedLocalDashboard, startLocalDashboard } from "../../src/dashboard/local/server.js";
import { createContainment } from "../../src/engine/firewall.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { type RedisFixture, startRedisFixture } from "../integration/redis-fixture.js";
import { mintHs } from "../support/jwt.js";
import { requireProgram } from "../support/programs.js";
import { cellTexts, waitForText } from "./browser-page.js";

const SCREENSHOT = process.env.DETECTIONS_SCREENSHOT ?? join(".tmp", "dashboard-detections.png");
const SECRET = "detect-example-secret-of-at-least-32-bytes!";
const EXAMPLE = JSON.parse(readFileSync("rules/examples/detect-enumeration.json", "utf8")) as {
  rules: Record<string, unknown>[];
} & Record<string, unknown>;
const require = createRequire(import.meta.url);
const AXE = readFileSync(join(dirname(require.resolve("axe-core")), "axe.min.js"), "utf8");
const HOSTILE = '<img src=x onerror="window.pwned=1">';

let redis: RedisFixture;
let dash: StartedLocalDashboard;
let browser: Browser;
let page: Page;

async function enumerate(document: unknown, sub: string, ids: number): Promise<void> {
  const background: Promise<unknown>[] = [];
  const containment = createContainment({
    rules: document,
    redis: redis.connection,
    mirror: false,
    env: { DETECT_EXAMPLE_JWT_SECRET: SECRET, CONTAINMENT_SALT: "salt" },
    onReport: () => {},
  });
  const now = Math.floor(Date.now() / 1000);
  const bearer = await mintHs(SECRET, {
    iss: "https://id.example.com/",
    aud: "api",
    sub,
    org: "acme",
    iat: now,
    exp: now + 600,
  });
  for (let id = 0; id < ids; id++) {
    const request = new Request(`http://localhost/api/acme/patients/${id}`, {
      headers: { authorization: `Bearer ${bearer}` },
    });
    await containment.decide(request, { waitUntil: (p) => background.push(p) });
  }
  while (background.length > 0) await Promise.allSettled(background.splice(0));
}

beforeAll(async () => {
  const executablePath = requireProgram("chromium");
  redis = await startRedisFixture();
  await enumerate(EXAMPLE, "mallory", 52);
  const [binding, detector] = EXAMPLE.rules;
  await enumerate({ ...EXAMPLE, rules: [binding, { ...detector, mode: "monitor" }] }, "trudy", 52);
  // What a compromised edge could write in its own keys: the panel shows it as text.
  const id = "patient-enumeration.zz.0123456789ab";
  const fields = {
    id,
    detector: "patient-enumeration",
    type: "enumeration",
    route: `/api/:tenant/${HOSTILE}`,
    dimension: "tenant+user",
    key: HOSTILE,
    tenant: HOSTILE,
    value: "77",
    threshold: "50",
    windowMs: "600000",
    action: HOSTILE,
    at: String(Date.now() - 3_600_000),
    state: "released",
    releasedBy: `alice ${HOSTILE}`,
    releasedAt: String(Date.now() - 1_800_000),
  };
  await redis.io.hset(`containment:detection:${id}`, fields);
  await redis.io.xadd("containment:detections", "*", ...Object.entries(fields).flat());
  dash = await startLocalDashboard({ redis: restRedis(redis.connection), refreshMs: 300, port: 0 });
  browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await dash?.close();
  await redis?.close();
});

describe("the dashboard's detections panel", { timeout: 120_000 }, () => {
  it("lists each detection: detector, route, key pseudonym, tenant, count, time, action, who released it", async () => {
    await page.goto(dash.url);
    await waitForText(page, "#detections-table", /monitor: would have quarantined/);
    const rows = await cellTexts(page, "#detections-table");
    expect(rows).toHaveLength(3);
    const [hostile, monitor, quarantined] = rows as [string[], string[], string[]];
    // Newest first: the monitor twin tripped after the enumerator; the written one is newest.
    expect(quarantined.slice(2)).toEqual([
      "enumeration patient-enumeration",
      "/api/:tenant/patients/:id",
      expect.stringMatching(/^tenant\+user:[0-9a-f]{16}\.[0-9a-f]{16}$/),
      "acme",
      "51 distinct records (threshold 50) in 10 min",
      "quarantined the key on its scope",
      "open",
    ]);
    expect(quarantined[0]).toMatch(/^patient-enumeration\.[0-9a-z]+\.[0-9a-f]{12}$/);
    expect(quarantined[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(monitor[7]).toBe("monitor: would have quarantined");
    expect(hostile[8]).toMatch(new RegExp(`^released by alice ${escapeRegExp(HOSTILE)} at `));
    // Markup written by the edge is text: no element made of it, no script run.
    expect(hostile[4]).toBe(`tenant+user:${HOSTILE}`);
    expect(await page.$$("#detections-table img")).toHaveLength(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    // No raw subject anywhere on the page.
    expect(await page.textContent("body")).not.toMatch(/mallory|trudy/);
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

  it("saves a screenshot of the panel", async () => {
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    const panel = await page.$("#detections");
    await panel?.scrollIntoViewIfNeeded();
    await panel?.screenshot({ path: SCREENSHOT });
    expect(readFileSync(SCREENSHOT).length).toBeGreaterThan(1000);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
