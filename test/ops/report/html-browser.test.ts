import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadChartAssets } from "../../../src/cli/report-inputs.js";
import { buildReport } from "../../../src/ops/report/build.js";
import { renderHtml } from "../../../src/ops/report/html.js";
import type { AuditView } from "../../../src/ops/report/model.js";
import { requireProgram } from "../../support/programs.js";
import { sampleInputs } from "./sample-inputs.js";

/** The sample plus a second switch killed and lifted seconds after the first: annotations crowd. */
function crowdedInputs() {
  const base = sampleInputs();
  const item = { id: "tenant-acme", version: 1, match: { path: "/api/acme/**" }, incident: "INC-1" };
  const at = (iso: string) => ({ ts: iso });
  const extra: AuditView[] = [
    {
      seq: 8,
      action: "kill",
      phase: "result",
      key: "containment_kill_tenant-acme",
      after: item,
      actor: "alice",
      ...at("2026-12-01T20:03:18Z"),
    },
    {
      seq: 9,
      action: "lift",
      phase: "result",
      key: "containment_kill_tenant-acme",
      before: item,
      actor: "bob",
      ...at("2026-12-01T20:06:09Z"),
    },
  ];
  return {
    ...base,
    audit: [...base.audit, ...extra],
    incident: {
      ...base.incident,
      summary: "Exports of acme were readable by any signed-in user for 3 minutes",
      individuals: 812,
      individualsBasis: "distinct patient ids in the export logs",
    },
  };
}

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: requireProgram("chromium"),
    args: ["--no-sandbox", "--no-proxy-server"],
  });
});
afterAll(async () => {
  await browser?.close();
});

describe("the HTML report in headless Chromium", () => {
  it("renders the per-minute chart with uPlot and every table without any network request, and prints to PDF", async () => {
    const html = renderHtml(buildReport(crowdedInputs()), loadChartAssets());
    const context = await browser.newContext({ offline: true, viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    const requests: string[] = [];
    page.on("request", (request) => {
      if (!request.url().startsWith("data:") && request.url() !== "about:blank") requests.push(request.url());
    });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    await page.setContent(html, { waitUntil: "load" });
    await page.waitForSelector('body[data-chart="ready"]', { timeout: 10_000 });
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    // uPlot drew into a canvas of the chart's size, with the four series in its legend.
    const canvas = await page.locator("#chart canvas").boundingBox();
    expect(canvas?.width).toBeGreaterThan(500);
    expect(await page.locator("#chart .u-legend .u-series").allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining("blocked"), expect.stringContaining("allowed")]),
    );
    expect(await page.locator("h2").allTextContents()).toEqual(
      expect.arrayContaining(["Timeline", "Containment", "Notification clocks", "Audit chain"]),
    );
    expect(await page.locator("text=2026-12-04T20:01:30Z").count()).toBeGreaterThan(0);
    // The narrative: entered fields shown, missing ones as gaps with their commands.
    expect(await page.locator("h2", { hasText: "Narrative and decisions" }).count()).toBe(1);
    expect(await page.locator(".missing li").count()).toBeGreaterThan(3);
    expect(await page.locator("dd", { hasText: "812 (basis: distinct patient ids" }).count()).toBeGreaterThan(
      0,
    );
    expect(
      await page.locator("code", { hasText: 'containment incident set INC-1 --root-cause "…"' }).count(),
    ).toBeGreaterThan(0);
    const pdf = await page.pdf({ format: "A4", printBackground: true });
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    expect(pdf.length).toBeGreaterThan(10_000);
    const dir = join(tmpdir(), "containment-report-test");
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, "report.png"), fullPage: true });
    await page.locator("#chart").screenshot({ path: join(dir, "report-chart.png") });
    await page
      .locator("section", { has: page.locator("h2", { hasText: "Narrative and decisions" }) })
      .screenshot({ path: join(dir, "report-narrative.png") });
    await context.close();
  });
});
