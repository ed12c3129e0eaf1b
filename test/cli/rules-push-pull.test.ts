/**
 * `rules pull` / `diff` / `push` through the CLI against the Vercel-API stand-in (bearer token
 * checked, PATCH bodies recorded, errors answered as the real API does), with a real Redis for the
 * audit chain and the middleware in workerd for `push --wait`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { readAudit } from "../../src/ops/audit/index.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { parseReport, verifyReport } from "../../src/stores/mirror/isolate-report.js";
import { type RedisFixture, startRedisFixture, until } from "../integration/redis-fixture.js";
import { responderEnv, runCli, spawnCli } from "../support/cli.js";
import { type Harness, startHarness } from "../support/harness.js";

const SECRET = "rules-report-secret";
const PREFIX = "containment:";
const LIMIT = {
  id: "export-limit",
  kind: "rate-limit",
  match: { path: "/api/:tenant/export" },
  limit: 20,
  window: "1m",
  by: ["tenant"],
};
const LIVE = { version: 1, rules: [LIMIT] };
const NEXT = {
  version: 1,
  rules: [
    { ...LIMIT, limit: 5 },
    { id: "no-store", kind: "headers", match: { path: "/api/**" }, set: { "cache-control": "no-store" } },
  ],
};

let ec: EdgeConfigServer;
let redis: RedisFixture;
let edge: Harness;
let cwd: string;

function env(extra: Record<string, string> = {}): Record<string, string> {
  return responderEnv(ec, redis.connection, { CONTAINMENT_REPORT_SECRET: SECRET, ...extra });
}
const cli = (args: string[], extra?: Record<string, string>) => runCli(args, { env: env(extra), cwd });
const file = (name: string, value: unknown) => {
  const path = join(cwd, name);
  writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value, null, 2));
  return path;
};

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "containment-rules-"));
  ec = await startEdgeConfigServer({
    items: { containment: LIVE },
    users: {
      "bob-token": { id: "user_bob", username: "bob", email: "bob@example.com" },
      "carol-token": { id: "user_carol", username: "carol", email: "carol@example.com" },
    },
  });
  redis = await startRedisFixture();
  edge = await startHarness("workerd", {
    edgeConfig: ec.connectionString,
    redis: redis.connection,
    env: { VERCEL_REGION: "iad1", CONTAINMENT_REPORT_SECRET: SECRET },
    options: { refreshMs: 0 },
  });
}, 120_000);
afterAll(async () => {
  await edge?.close();
  await redis?.close();
  await ec?.close();
});

describe("rules pull, diff and push against the Vercel-API stand-in", { timeout: 240_000 }, () => {
  it("pulls what is live (stdout, --json, --out) and diffs a file against it field by field", async () => {
    const pulled = await cli(["rules", "pull"]);
    expect(pulled.code).toBe(0);
    expect(JSON.parse(pulled.stdout)).toEqual(LIVE);
    expect((await cli(["rules", "pull", "--json"])).json).toMatchObject({ document: LIVE });
    const out = join(cwd, "live.json");
    expect((await cli(["rules", "pull", "--out", out])).code).toBe(0);
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual(LIVE);

    const diff = await cli(["rules", "diff", file("next.json", NEXT), "--json"]);
    expect(diff.code).toBe(0);
    expect(diff.json).toMatchObject({
      diff: {
        same: false,
        added: ["no-store"],
        removed: [],
        changed: [{ id: "export-limit", fields: [expect.objectContaining({ path: "limit" })] }],
      },
    });
    // Reading needs no write: nothing was sent.
    expect(ec.patches).toHaveLength(0);
  });

  it("refuses before sending what the firewall would reject, a revoked token and a rate-limited API, changing nothing", async () => {
    const bad = await cli([
      "rules",
      "push",
      file("bad.json", { version: 1, rules: [{ ...LIMIT, limit: -1 }] }),
      "--yes",
    ]);
    expect(bad.code).toBe(2);
    // One line per fault (with its JSON path and line:column), then one saying nothing was sent.
    expect(bad.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/bad\.json:\d+:\d+: \$\.rules\[0\]\.limit: /),
      expect.stringMatching(/not a valid rules document/),
    ]);
    const broken = await cli([
      "rules",
      "push",
      file("broken.json", '{"version": 1,\n  "rules": [,]}'),
      "--yes",
    ]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/broken\.json:2:\d+/);

    ec.revokeToken("carol-token");
    const revoked = await cli(["rules", "push", file("next.json", NEXT), "--yes"], {
      VERCEL_TOKEN: "carol-token",
    });
    expect(revoked.code).toBe(3);
    expect(revoked.stderr.trim().split("\n")).toHaveLength(1);
    expect(revoked.stderr).toMatch(/401|token/);
    ec.rateLimitNext(5, 120);
    const limited = await cli(["rules", "push", file("next.json", NEXT), "--yes"]);
    ec.rateLimitNext(0);
    expect(limited.code).toBe(4);
    expect(limited.stderr).toMatch(/rate-limiting.*120 s/);
    const dry = await cli(["rules", "push", file("next.json", NEXT), "--dry-run", "--json"]);
    expect(dry.json).toMatchObject({ dryRun: true });
    expect(ec.patches).toHaveLength(0);
    expect(ec.items().containment).toEqual(LIVE);
    expect(await readAudit({ redis: restRedis(redis.connection), prefix: PREFIX })).toEqual([]);
  });

  it("pushes with an update of the item as read, audited, and --wait confirms it while another responder flips a kill switch", async () => {
    // The isolate has reported once (what it enforces before the push).
    await until(
      async () => {
        await edge.fetch("/api/acme/export");
        return (await redis.io.zcard(`${PREFIX}isolates`)) === 1;
      },
      60_000,
      "the isolate's first report",
    );
    const push = spawnCli(
      [
        "rules",
        "push",
        file("next.json", NEXT),
        "--reason",
        "tighten",
        "--yes",
        "--wait",
        "--timeout",
        "120",
      ],
      { env: env(), cwd },
    );
    await until(() => JSON.stringify(ec.items().containment) === JSON.stringify(NEXT), 60_000, "the push");
    const patch = ec.patches.find((p) => JSON.stringify(p.body).includes('"containment"'));
    expect(patch).toMatchObject({ user: "local-responder", status: 200 });
    const items = (patch?.body as { items?: Array<{ operation: string; key: string }> } | undefined)?.items;
    expect(items?.map((i) => [i.operation, i.key])).toEqual([
      ["update", "containment"],
      ["create", "containment_audit_head"],
    ]);
    // Bob flips a kill switch before the edge has confirmed the push: the ruleset digest the isolate
    // reports is now that of the pushed rules WITH his switch, not the one computed at the push.
    const kill = await cli(
      ["kill", "/api/other/**", "--reason", "other", "--incident", "INC-P", "--yes", "--new-route"],
      {
        VERCEL_TOKEN: "bob-token",
      },
    );
    expect(kill.code).toBe(0);
    const member = (await redis.io.zrange(`${PREFIX}isolates`, 0, -1))[0] as string;
    await until(
      async () => {
        await edge.fetch("/api/acme/export");
        const report = parseReport((await redis.io.get(`${PREFIX}isolate:${member}`)) ?? "");
        return (
          report !== undefined &&
          (await verifyReport(report, SECRET)) === "verified" &&
          report.switches.includes("api-other@1")
        );
      },
      60_000,
      "the isolate enforcing the push and bob's switch",
    );
    expect((await edge.fetch("/api/acme/export")).headers.get("cache-control")).toBe("no-store");
    const done = await push.done;
    expect(done.stderr).not.toMatch(/not confirmed|unexpected/);
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/confirmed in iad1 after \d+\.\d s \(1 isolate\)/);
    const audit = await readAudit({ redis: restRedis(redis.connection), prefix: PREFIX });
    expect(audit.slice(0, 2).map((r) => [r.entry.action, r.entry.phase, r.entry.reason])).toEqual([
      ["rules-push", "intent", "tighten"],
      ["rules-push", "result", "tighten"],
    ]);
    expect(audit[1]?.entry.before).toEqual(LIVE);
    expect(audit[1]?.entry.after).toEqual(NEXT);
  });
});
