/**
 * What `--wait` saw is what the report says: kill, extend and lift each with `--wait` against a
 * running `containment dev` (workerd, the Edge Config and Vercel-API stand-ins, a real redis-server),
 * then `containment report` shows each of the changes confirmed, with the region and the time the
 * wait saw, in its JSON, Markdown and HTML; a switch killed and lifted twice in one incident keeps
 * both lifts' confirmations. Traffic is driven until each wait has ended; nothing
 * waits on a sleep.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../../src/dev/server.js";
import { isoSeconds } from "../../src/ops/report/clocks.js";
import type { Report } from "../../src/ops/report/model.js";
import { type CliResult, runCli, spawnCli } from "../support/cli.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

let redis: RedisServer;
let dev: DevServer;
let cwd: string;
const INCIDENT = "INC-CONF";
const ROUTE = "/api/acme/exports/1";

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "containment-confirm-"));
  redis = await startRedisServer();
  dev = await startDevServer({ port: 0, redis: redis.url, endpointsDir: cwd, log: () => {} });
}, 120_000);
afterAll(async () => {
  await dev?.close();
  await redis?.stop();
});

const local = (args: string[]) => runCli([...args, "--local"], { cwd });

/** Runs a `--wait` command while requests reach the firewall (an isolate reports with its flushes). */
async function withTraffic(args: string[]): Promise<CliResult> {
  const running = spawnCli([...args, "--local", "--yes", "--json", "--wait", "--timeout", "90"], { cwd });
  let done = false;
  const finished = running.done.finally(() => {
    done = true;
  });
  while (!done) {
    await fetch(`${dev.urls.firewall}${ROUTE}`).then(
      (r) => r.arrayBuffer(),
      () => undefined,
    );
    await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, 100))]);
  }
  const result = await finished;
  return { ...result, json: JSON.parse(result.stdout.trim().split("\n").pop() ?? "null") };
}

interface Waited {
  wait: { ok: boolean; confirmed: Array<{ region: string; afterMs: number }> };
}

describe("the report shows what --wait confirmed", { timeout: 300_000 }, () => {
  it("lists kill, extend and lift (twice) each confirmed in the region --wait saw, in JSON, Markdown and HTML", async () => {
    const open = await local(["incident", "open", INCIDENT, "--title", "exports", "--json"]);
    expect(open.code, open.stderr).toBe(0);

    const kill = await withTraffic([
      "kill",
      "/api/:tenant/exports/**",
      "--reason",
      "leak",
      "--incident",
      INCIDENT,
      "--for",
      "1h",
    ]);
    expect(kill.code, kill.stderr).toBe(0);
    const extend = await withTraffic(["extend", "api-exports", "--for", "1h", "--reason", "longer"]);
    expect(extend.code, extend.stderr).toBe(0);
    const lift = await withTraffic(["lift", "api-exports", "--reason", "fixed"]);
    expect(lift.code, lift.stderr).toBe(0);

    // The same switch again in the same incident: its second lift is confirmed on its own record.
    const again = await withTraffic([
      "kill",
      "/api/:tenant/exports/**",
      "--reason",
      "leak again",
      "--incident",
      INCIDENT,
    ]);
    expect(again.code, again.stderr).toBe(0);
    const liftAgain = await withTraffic(["lift", "api-exports", "--reason", "fixed again"]);
    expect(liftAgain.code, liftAgain.stderr).toBe(0);

    // What each wait saw: the region, and the time (write + afterMs) the report must give it.
    const seen = [kill, extend, lift, again, liftAgain].map((run) => {
      const json = run.json as { writtenAt?: number; lifted?: Array<{ writtenAt: number }>; wait: unknown };
      const wait = (Array.isArray(json.wait) ? json.wait[0] : json.wait) as Waited["wait"];
      const writtenAt = json.writtenAt ?? json.lifted?.[0]?.writtenAt ?? Number.NaN;
      const first = wait.confirmed[0];
      expect(wait.ok).toBe(true);
      return { region: first?.region, at: isoSeconds(writtenAt + (first?.afterMs ?? Number.NaN)) };
    });
    expect(seen[0]?.region).toEqual(expect.any(String));

    const json = await local(["report", "--incident", INCIDENT, "--format", "json"]);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as Report;
    const flips = report.containment.flips.map((f) => ({
      action: f.action,
      version: f.version,
      confirmations: f.confirmations.map((c) => ({ region: c.region, at: c.at })),
    }));
    expect(flips).toEqual([
      { action: "kill", version: 1, confirmations: [seen[0]] },
      { action: "extend", version: 2, confirmations: [seen[1]] },
      { action: "lift", version: 2, confirmations: [seen[2]] },
      { action: "kill", version: 3, confirmations: [seen[3]] },
      { action: "lift", version: 3, confirmations: [seen[4]] },
    ]);

    const md = await local(["report", "--incident", INCIDENT, "--format", "md"]);
    const rows = md.stdout.split("\n").filter((line) => line.startsWith("| api-exports@"));
    expect(rows).toHaveLength(5);
    for (const [index, row] of rows.entries()) {
      expect(row).toContain(`| ${seen[index]?.region} | ${seen[index]?.at} |`);
      expect(row).not.toContain("not confirmed");
    }
    const html = await local(["report", "--incident", INCIDENT, "--format", "html"]);
    expect(html.code, html.stderr).toBe(0);
    expect(html.stdout).not.toContain("not confirmed");
    for (const { region, at } of seen) expect(html.stdout).toContain(`<td>${region}</td><td>${at}</td>`);
  });
});
