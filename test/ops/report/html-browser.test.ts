import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadChartAssets } from "../../../src/cli/report-inputs.js";
import { buildReport } from "../../../src/ops/report/build.js";
import { renderHtml } from "../../../src/ops/report/html.js";
import { requireProgram } from "../../support/programs.js";
import { sampleInputs } from "./sample-inputs.js";

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
    const html = renderHtml(buildReport(sampleInputs()), loadChartAssets());
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
    const pdf = await page.pdf({ format: "A4", printBackground: true });
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    expect(pdf.length).toBeGreaterThan(10_000);
    const dir = join(tmpdir(), "containment-report-test");
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, "report.png"), fullPage: true });
    await context.close();
  });
});
