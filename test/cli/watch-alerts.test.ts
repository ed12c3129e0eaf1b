/**
 * `status --watch --webhook`: alerts for a switch expiring within 15 minutes, a rules push the edge
 * rejected and new mirror drops, each posted once to a generic JSON and a Slack-compatible webhook
 * (real HTTP receivers); what was already there when watching began is the baseline, not news. A
 * webhook that fails never fails a change.
 */
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { type RedisFixture, startRedisFixture, until } from "../integration/redis-fixture.js";
import { responderEnv, runCli, spawnCli } from "../support/cli.js";
import { type Harness, startHarness } from "../support/harness.js";

const PREFIX = "containment:";
const RULES = { version: 1, rules: [] };

let ec: EdgeConfigServer;
let redis: RedisFixture;
let edge: Harness;
let hooks: Server;
let hooksUrl: string;
let cwd: string;
const received: Array<{ path: string; body: Record<string, unknown> }> = [];

function env(): Record<string, string> {
  return responderEnv(ec, redis.connection);
}
/** What one receiver got, as text: the generic event's summary or Slack's text. */
const texts = (path: string) =>
  received.filter((r) => r.path === path).map((r) => String(r.body.summary ?? r.body.text));

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "containment-watch-"));
  hooks = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    request.on("end", () => {
      received.push({ path: request.url ?? "", body: JSON.parse(text) as Record<string, unknown> });
      response.writeHead(request.url === "/broken" ? 500 : 204).end();
    });
  });
  await new Promise<void>((resolve) => hooks.listen(0, "127.0.0.1", resolve));
  hooksUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`;
  ec = await startEdgeConfigServer({ items: { containment: RULES } });
  redis = await startRedisFixture();
  edge = await startHarness("workerd", {
    edgeConfig: ec.connectionString,
    redis: redis.connection,
    options: { refreshMs: 0 },
  });
}, 120_000);
afterAll(async () => {
  await edge?.close();
  await redis?.close();
  await ec?.close();
  await new Promise((resolve) => hooks?.close(resolve));
});

describe("status --watch alerts to webhooks", { timeout: 180_000 }, () => {
  it("posts an expiring switch, a rejected rules push and new mirror drops once each, not the baseline", async () => {
    await (await edge.fetch("/api/ok")).arrayBuffer(); // the edge has good rules in force
    await redis.io.set(`${PREFIX}mirror:drops`, 3); // there before watching: the baseline
    ec.setItem("containment_kill_soon", {
      id: "soon",
      version: 2,
      match: { path: "/api/soon/**" },
      reason: "r",
      expiresAt: new Date(Date.now() + 5 * 60_000).toISOString(),
    });
    const watch = spawnCli(
      [
        "status",
        "--watch",
        "--every",
        "1",
        "--json",
        "--webhook",
        `${hooksUrl}/generic`,
        "--webhook",
        `slack:${hooksUrl}/slack`,
      ],
      { env: env(), cwd },
    );
    const refreshes = () =>
      watch
        .output()
        .stdout.split("\n")
        .filter((l) => l.startsWith("{")).length;
    await until(
      () => texts("/generic").some((t) => /soon@2 expires in/.test(t)),
      60_000,
      "the expiring alert",
    );

    // The edge rejects a broken document (and keeps the last good one): a rejected push.
    ec.setItem("containment", { version: 1, rules: [{ id: "x", kind: "rate-limit", limit: -1 }] });
    await until(
      async () => {
        await (await edge.fetch("/api/ok")).arrayBuffer();
        return texts("/generic").some((t) => /rejected at the edge/.test(t));
      },
      60_000,
      "the rejected-push alert",
    );
    await redis.io.incrby(`${PREFIX}mirror:drops`, 5);
    await until(() => texts("/generic").some((t) => /dropped 5 more/.test(t)), 60_000, "the drops alert");
    // Two more refreshes: nothing is posted twice.
    const seen = refreshes();
    await until(() => refreshes() >= seen + 2, 60_000, "two more refreshes");
    watch.signal("SIGINT");
    const done = await watch.done;
    expect(done.code).toBe(0);

    for (const path of ["/generic", "/slack"]) {
      const got = texts(path);
      expect(got, path).toHaveLength(3);
      expect(
        got.filter((t) => /soon@2/.test(t)),
        path,
      ).toHaveLength(1);
      expect(
        got.filter((t) => /1 rules push\(es\) rejected at the edge/.test(t)),
        path,
      ).toHaveLength(1);
      expect(
        got.filter((t) => /dropped 5 more decisions/.test(t)),
        path,
      ).toHaveLength(1);
    }
    expect(received.find((r) => r.path === "/generic")?.body).toMatchObject({
      source: "edge-containment",
      kind: "alert",
      action: "status-watch",
    });
    expect(texts("/slack").every((t) => t.startsWith(":warning: edge-containment: "))).toBe(true);
  });

  it("keeps a change when its webhook fails, and says so", async () => {
    ec.setItem("containment", RULES);
    const kill = await runCli(
      [
        "kill",
        "/api/hooked/**",
        "--reason",
        "r",
        "--incident",
        "INC-H",
        "--yes",
        "--new-route",
        "--webhook",
        `${hooksUrl}/broken`,
      ],
      { env: env(), cwd },
    );
    // Written, and says so first; the failed notification is a warning and exit 11 (incomplete).
    expect(kill.code).toBe(11);
    expect(kill.stdout.split("\n")[0]).toMatch(
      /^created containment_kill_api-hooked \(version 1\) in Edge Config/,
    );
    expect(kill.stderr).toMatch(
      /webhook http:\/\/127\.0\.0\.1:\d+ answered 500 \(the change itself stands\)/,
    );
    expect(ec.items()["containment_kill_api-hooked"]).toMatchObject({ version: 1 });
    expect(texts("/broken")).toEqual([expect.stringMatching(/api-hooked/)]);
  });
});
