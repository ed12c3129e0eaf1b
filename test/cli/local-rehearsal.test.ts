/**
 * The whole drill on one machine: `containment dev` (workerd, the Edge Config and Vercel-API
 * stand-ins, the Upstash bridge to a real redis-server) records its endpoints in
 * `.containment/dev.json`; the CLI with `--local` flips a switch there and the firewall enforces it.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../../src/dev/server.js";
import { until } from "../integration/redis-fixture.js";
import { runCli } from "../support/cli.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

let redis: RedisServer;
let dev: DevServer;
let cwd: string;

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "containment-local-"));
  redis = await startRedisServer();
  dev = await startDevServer({ port: 0, redis: redis.url, endpointsDir: cwd, log: () => {} });
}, 120_000);
afterAll(async () => {
  await dev?.close();
  await redis?.stop();
});

const local = (args: string[]) => runCli([...args, "--local"], { cwd });
const status = async (path: string) => (await fetch(`${dev.urls.firewall}${path}`)).status;

describe("--local against a running containment dev", () => {
  it("records the endpoints, kills and lifts through them, audits in the dev Redis, and removes the file on close", async () => {
    const file = join(cwd, ".containment", "dev.json");
    const recorded = JSON.parse(readFileSync(file, "utf8"));
    expect(recorded).toMatchObject({
      edgeConfig: {
        id: expect.stringMatching(/^ecfg_/),
        apiBase: expect.stringMatching(/^http:\/\/127\.0\.0\.1:/),
      },
      redis: { url: expect.any(String) },
      reportSecret: expect.any(String),
    });

    expect(await status("/api/acme/exports/1")).not.toBe(503);
    const kill = await local([
      "kill",
      "/api/:tenant/exports/**",
      "--reason",
      "drill",
      "--incident",
      "DRILL-1",
      "--yes",
      "--json",
    ]);
    expect(kill.code, kill.stderr).toBe(0);
    await until(
      async () => (await status("/api/acme/exports/1")) === 503,
      15_000,
      "the firewall to enforce the switch",
    );
    const log = await local(["audit", "log", "--json"]);
    expect(log.json?.entries as unknown[]).toHaveLength(2);
    const lift = await local(["lift", "api-exports", "--yes", "--json"]);
    expect(lift.code, lift.stderr).toBe(0);
    await until(
      async () => (await status("/api/acme/exports/1")) !== 503,
      15_000,
      "the firewall to pass again",
    );
    const verify = await local(["audit", "verify", "--json"]);
    expect(verify.json).toMatchObject({ ok: true, count: 4 });

    // The rules item came from dev's rules file, not from an audited push: a note naming the file,
    // never the alarm meant for a change made in the Vercel UI or with curl.
    const snapshot = (await local(["status", "--json"])).json?.status as {
      unaudited: string[];
      unauditedChanges: Array<{ key: string; source: string; file?: string }>;
      rulesetDigest: string | null;
    };
    expect(snapshot.unaudited).toEqual([]);
    expect(snapshot.unauditedChanges).toEqual([
      expect.objectContaining({ key: "containment", source: "containment-dev", file: dev.rulesFile }),
    ]);
    expect(snapshot.rulesetDigest).toMatch(/^[0-9a-f]{16}$/);
    const human = await local(["status"]);
    expect(human.stdout).not.toMatch(/CHANGED WITHOUT AN AUDIT ENTRY/);
    expect(human.stdout).toContain(`written by \`containment dev\` from its rules file ${dev.rulesFile}`);
    // The digest status computes from Edge Config is the one the isolate reports once it reloaded.
    await until(
      async () =>
        ((await local(["status", "--json"])).json?.status as { digestsAgree?: boolean } | undefined)
          ?.digestsAgree === true,
      30_000,
      "status to say the digests agree",
    );

    await dev.close();
    expect(existsSync(file)).toBe(false);
  }, 180_000);
});
