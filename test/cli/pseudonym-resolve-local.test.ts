/**
 * `containment dev` makes a pseudonym key per run and hands it to the edge (workerd) and to
 * `.containment/dev.json`; `pseudonym resolve --local` then resolves a pseudonym the edge really
 * wrote to Redis to the value behind it, and to nothing else (docs/recorded-format.md#privacy).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis as IoRedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../../src/dev/server.js";
import { until } from "../integration/redis-fixture.js";
import { runCli } from "../support/cli.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

let redis: RedisServer;
let io: IoRedis;
let dev: DevServer;
let cwd: string;

const RULES = {
  version: 1,
  tenants: { acme: { origins: [] } },
  tenancy: { from: "path", param: "tenant", pattern: "/api/:tenant/**" },
  rules: [
    {
      id: "reads",
      kind: "rate-limit",
      match: { path: "/api/:tenant/records" },
      limit: 100,
      window: "1h",
      by: ["tenant"],
    },
  ],
};

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "containment-pseudonym-"));
  const rules = join(cwd, "rules.json");
  writeFileSync(rules, JSON.stringify(RULES));
  redis = await startRedisServer();
  io = new IoRedis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  await io.connect();
  dev = await startDevServer({ port: 0, redis: redis.url, rules, endpointsDir: cwd, log: () => {} });
}, 120_000);
afterAll(async () => {
  io?.disconnect();
  await dev?.close();
  await redis?.stop();
});

describe("pseudonym resolve --local against a running containment dev", () => {
  it("resolves the tenant pseudonym the edge wrote with the run's key, and nothing else", async () => {
    const recorded = JSON.parse(readFileSync(join(cwd, ".containment", "dev.json"), "utf8"));
    expect(recorded.pseudonymKey).toEqual(expect.stringMatching(/^[\w-]{32}$/));
    // The demo upstream has no such page (404): the firewall counted the request on its way.
    expect((await fetch(`${dev.urls.firewall}/api/acme/records`)).status).not.toBe(429);
    let key = "";
    await until(
      async () => {
        key = (await io.keys("containment:rl:reads:*"))[0] ?? "";
        return key !== "";
      },
      15_000,
      "the rate-limit counter",
    );
    const pseudonym = /tenant=([0-9a-f]{16})/.exec(key)?.[1] ?? "";
    expect(pseudonym).toMatch(/^[0-9a-f]{16}$/);
    const yes = await runCli(["pseudonym", "resolve", pseudonym, "globex", "acme", "--local", "--json"], {
      cwd,
    });
    expect(yes.code).toBe(0);
    expect(yes.json).toMatchObject({ ok: true, match: "acme", checked: 2 });
    const no = await runCli(["pseudonym", "resolve", pseudonym, "globex", "--local"], { cwd });
    expect(no.code).toBe(12);
    // The run's key never appears in what the CLI prints.
    expect(yes.stdout + no.stderr).not.toContain(recorded.pseudonymKey);
  });
});
