/**
 * A second kill never reopens a leak: switches of two incidents on one route coexist and are both
 * enforced (in workerd), a replacement that blocks less is refused without --narrow (whatever
 * --yes says) and shows its diff with it, lift names what still covers the route, two responders
 * at once lose no write, incident close refuses while the incident's switches block, and a typo
 * route is refused with the nearest known route. Through the CLI as a responder runs it, against
 * the Vercel API stand-in, a real redis-server and the middleware in workerd.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { type RedisFixture, startRedisFixture } from "../integration/redis-fixture.js";
import { responderEnv, runCli } from "../support/cli.js";
import { type Harness, startHarness } from "../support/harness.js";

let ec: EdgeConfigServer;
let redis: RedisFixture;
let edge: Harness;
let cwd: string;
const PREFIX = "coexist:";
const EXPORT = "/api/:tenant/patients/*/export";

const cli = (args: string[], extra: Record<string, string> = {}) =>
  runCli(args, {
    env: responderEnv(ec, redis.connection, { CONTAINMENT_REDIS_PREFIX: PREFIX, ...extra }),
    cwd,
  });
const kill = (incident: string, ...rest: string[]) =>
  cli(["kill", EXPORT, "--reason", `leak ${incident}`, "--incident", incident, "--yes", ...rest]);
const status = async (tenant: string) => (await edge.fetch(`/api/${tenant}/patients/7/export`)).status;
/** Polls until the edge answers `want` (the middleware re-reads Edge Config on each request here). */
async function edgeAnswers(tenant: string, want: number): Promise<number> {
  let got = 0;
  for (let i = 0; i < 50 && got !== want; i++) {
    got = await status(tenant);
    if (got !== want) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return got;
}
const switches = () =>
  Object.keys(ec.items())
    .filter((k) => k.startsWith("containment_kill_"))
    .sort();

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "containment-coexist-"));
  // A built Next.js app's manifest: the routes a kill is checked against.
  mkdirSync(join(cwd, ".next"));
  writeFileSync(
    join(cwd, ".next", "routes-manifest.json"),
    JSON.stringify({
      version: 3,
      staticRoutes: [{ page: "/api/health" }],
      dynamicRoutes: [
        { page: "/api/[tenant]/patients/[id]/export" },
        { page: "/api/[tenant]/patients/[id]" },
      ],
    }),
  );
  ec = await startEdgeConfigServer({
    items: {
      containment: {
        version: 1,
        tenancy: { from: "path", param: "tenant", pattern: "/api/:tenant/**" },
        rules: [
          {
            id: "phi-no-store",
            kind: "headers",
            match: { path: "/api/:tenant/patients/**" },
            set: { "cache-control": "private, no-store" },
          },
        ],
      },
    },
  });
  redis = await startRedisFixture();
  edge = await startHarness("workerd", { edgeConfig: ec.connectionString, options: { refreshMs: 0 } });
});
afterAll(async () => {
  await edge?.close();
  await redis?.close();
  await ec?.close();
});

describe("kill switches of several incidents on one route", { timeout: 180_000 }, () => {
  it("a second kill from another incident adds a switch beside the first: both tenants stay blocked", async () => {
    const first = await kill("INC-1", "--tenant", "acme", "--json");
    expect(first.code, first.stderr).toBe(0);
    expect(first.json).toMatchObject({ id: "api-patients-export", created: true });
    const second = await kill("INC-2", "--tenant", "globex");
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.split("\n")[0]).toMatch(
      /^created containment_kill_api-patients-export-inc-2 \(version 1\)/,
    );
    expect(second.stderr).toMatch(
      /kill switch api-patients-export \(INC-1\) on this route stays in force beside it/,
    );
    expect(switches()).toEqual([
      "containment_kill_api-patients-export",
      "containment_kill_api-patients-export-inc-2",
    ]);
    expect(ec.items()["containment_kill_api-patients-export"]).toMatchObject({
      incident: "INC-1",
      version: 1,
    });
    expect(await edgeAnswers("acme", 503)).toBe(503);
    expect(await edgeAnswers("globex", 503)).toBe(503);
    expect(await status("initech")).toBe(200);
  });

  it("refuses a replacement that blocks less, even with --yes, and changes nothing", async () => {
    const before = JSON.stringify(ec.items());
    const sooner = await kill("INC-1", "--tenant", "acme", "--for", "10m");
    expect(sooner.code).toBe(2);
    expect(sooner.stderr).toMatch(
      /refused: this replaces kill switch api-patients-export \(INC-1\) with one that blocks less: ends sooner/,
    );
    expect(sooner.stderr).toMatch(/add --narrow/);
    expect(sooner.stderr).toMatch(/\* expiry {3}until lifted → 20\d\d-/);
    const moved = await kill("INC-1", "--tenant", "globex", "--id", "api-patients-export-inc-2");
    expect(moved.code).toBe(2);
    expect(moved.stderr).toMatch(/moves from incident INC-2 to INC-1/);
    expect(JSON.stringify(ec.items())).toBe(before);
    expect(await status("acme")).toBe(503);
  });

  it("narrows on purpose with --narrow, showing the field-by-field diff", async () => {
    const narrowed = await kill("INC-1", "--tenant", "acme", "--method", "POST", "--narrow", "--json");
    expect(narrowed.code, narrowed.stderr).toBe(0);
    expect(narrowed.json).toMatchObject({
      version: 2,
      detail: "narrowed",
      narrows: ["restricts methods to POST (was every one)"],
    });
    expect(narrowed.json?.diff).toContainEqual({ field: "methods", from: "(all)", to: "POST" });
    const shown = await kill("INC-1", "--tenant", "acme", "--narrow");
    // Back to every method: wider, written with the diff shown.
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stderr).toMatch(/replace \(version 2 → 3\)/);
    expect(shown.stderr).toMatch(/\* methods {2}POST → \(all\)/);
    expect(shown.stderr).not.toMatch(/BLOCKS LESS/);
  });

  it("refuses a misspelled route and names the nearest known one; --new-route writes it", async () => {
    for (const typo of [
      "/api/:tenant/patinets/*/export",
      "/api/:tenant/patients/*/exprot",
      "/api/{tenant}/patients/*/export",
    ]) {
      const refused = await cli(["kill", typo, "--reason", "r", "--incident", "INC-1", "--yes"]);
      expect(refused.code, typo).toBe(2);
      expect(refused.stderr).toMatch(
        /matches no route known from the Next.js route manifest; did you mean \/api\/:tenant\/patients\/:id\/export/,
      );
      // One line that says once that nothing changed and what to do.
      expect(refused.stderr.match(/nothing was changed/gi), typo).toHaveLength(1);
    }
    expect(switches()).toHaveLength(2);
    const meant = await cli([
      "kill",
      "/api/:tenant/billing",
      "--reason",
      "r",
      "--incident",
      "INC-3",
      "--yes",
      "--new-route",
    ]);
    expect(meant.code, meant.stderr).toBe(0);
    expect((await cli(["lift", "api-billing", "--yes"])).code).toBe(0);
  });

  it("two responders at once: neither write is lost", async () => {
    const [a, b] = await Promise.all([
      cli([
        "kill",
        "/api/:tenant/patients/*",
        "--reason",
        "a",
        "--incident",
        "INC-4",
        "--tenant",
        "acme",
        "--yes",
        "--json",
      ]),
      cli([
        "kill",
        "/api/:tenant/patients/*",
        "--reason",
        "b",
        "--incident",
        "INC-5",
        "--tenant",
        "globex",
        "--yes",
        "--json",
      ]),
    ]);
    expect([a.code, b.code], `${a.stderr}\n${b.stderr}`).toEqual([0, 0]);
    const mine = Object.values(ec.items()).filter(
      (v) => (v as { match?: { path?: string } }).match?.path === "/api/:tenant/patients/*",
    ) as Array<{ incident: string; match: { tenants: string[] } }>;
    expect(mine.map((v) => `${v.incident}:${v.match.tenants.join(",")}`).sort()).toEqual([
      "INC-4:acme",
      "INC-5:globex",
    ]);
    expect((await cli(["lift", "--incident", "INC-4", "--yes"])).code).toBe(0);
    expect((await cli(["lift", "--incident", "INC-5", "--yes"])).code).toBe(0);
  });

  it("incident close refuses while the incident's switches block, naming them", async () => {
    expect((await cli(["incident", "open", "INC-2", "--title", "drill"])).code).toBe(0);
    const refused = await cli(["incident", "close", "INC-2"]);
    expect(refused.code).toBe(7);
    expect(refused.stderr).toMatch(
      /refused: kill switch of INC-2 still in force: api-patients-export-inc-2 \(/,
    );
    expect(refused.stdout).toBe("");
  });

  it("lift says what still covers the route afterwards, or that nothing does", async () => {
    const first = await cli(["lift", "api-patients-export", "--yes"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /is still covered by kill switch api-patients-export-inc-2 \(INC-2: .*tenants globex\)\), headers rule phi-no-store/,
    );
    expect(await edgeAnswers("acme", 200)).toBe(200);
    expect(await status("globex")).toBe(503);
    const second = await cli(["lift", "api-patients-export-inc-2", "--yes"]);
    expect(second.stdout).toMatch(/still covered by headers rule phi-no-store/);
    expect(second.stdout).not.toMatch(/kill switch/);
    expect(await edgeAnswers("globex", 200)).toBe(200);
    const closed = await cli(["incident", "close", "INC-2", "--out", "evidence"]);
    expect(closed.code, closed.stderr).toBe(0);
  });
});
