/**
 * Detections end to end: the example document's enumeration detector runs in the real middleware
 * in workerd (two isolates) on a real Redis; the edge sends one PagerDuty trigger; the responder
 * lists the detection (entered into the audit chain as attested by the edge), sees it in `status
 * --json`, opens an incident from it, and releases it in one audited command that resolves the
 * alert and lets the subject through again.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import type { Json } from "../../src/model/json.js";
import { readAudit } from "../../src/ops/audit/index.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import {
  awayFromWindowEdge,
  type RedisFixture,
  startRedisFixture,
  until,
} from "../integration/redis-fixture.js";
import { type AlertReceiver, startAlertReceiver } from "../support/alert-receiver.js";
import { responderEnv, runCli } from "../support/cli.js";
import { type Harness, startHarness } from "../support/harness.js";
import { mintHs } from "../support/jwt.js";

const SECRET = "detect-example-secret-of-at-least-32-bytes!";
const EXAMPLE = JSON.parse(readFileSync("rules/examples/detect-enumeration.json", "utf8")) as Json;

let ec: EdgeConfigServer;
let redis: RedisFixture;
let receiver: AlertReceiver;
let edges: Harness[] = [];
let cwd: string;

const pagerDuty = () => ({
  CONTAINMENT_PAGERDUTY_ROUTING_KEY: "routing-key-7",
  CONTAINMENT_PAGERDUTY_URL: `${receiver.url}/pagerduty`,
});
const cli = (args: string[]) => runCli(args, { env: responderEnv(ec, redis.connection, pagerDuty()), cwd });

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "containment-detections-"));
  ec = await startEdgeConfigServer({ items: { containment: EXAMPLE } });
  redis = await startRedisFixture();
  receiver = await startAlertReceiver();
  const start = () =>
    startHarness("workerd", {
      edgeConfig: ec.connectionString,
      redis: redis.connection,
      env: { CONTAINMENT_SALT: "test-salt", DETECT_EXAMPLE_JWT_SECRET: SECRET, ...pagerDuty() },
    });
  edges = await Promise.all([start(), start()]);
}, 120_000);
afterAll(async () => {
  for (const edge of edges) await edge.close();
  await redis?.close();
  await receiver?.close();
  await ec?.close();
});

async function status(edge: Harness, path: string, token: string): Promise<number> {
  const response = await edge.fetch(path, { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return response.status;
}

describe("detections through the middleware and the CLI", { timeout: 120_000 }, () => {
  it("trips in workerd, alerts once, is listed, audited, opens an incident and is released with a resolve", async () => {
    await awayFromWindowEdge(600_000, 60_000);
    const now = Math.floor(Date.now() / 1000);
    const mallory = await mintHs(SECRET, {
      iss: "https://id.example.com/",
      aud: "api",
      sub: "mallory",
      org: "acme",
      iat: now,
      exp: now + 600,
    });
    const [east, west] = edges as [Harness, Harness];
    // 30 distinct ids in each isolate: neither alone crosses 50; together they do.
    for (let id = 0; id < 60; id++) await status(id < 30 ? east : west, `/api/acme/patients/${id}`, mallory);
    await until(
      async () => (await status(west, "/api/acme/patients/search", mallory)) === 429,
      10_000,
      "the quarantine to be enforced",
    );
    await until(() => receiver.posts.length >= 1, 10_000, "the PagerDuty trigger");

    const listed = await cli(["detections", "list", "--json"]);
    expect(listed.code, listed.stderr).toBe(0);
    const rows = (listed.json as { detections: Array<Record<string, unknown>>; entered: number }).detections;
    expect(rows).toHaveLength(1);
    const detection = rows[0] as { id: string; action: string; tenant: string; key: string };
    expect(detection).toMatchObject({ action: "quarantined", tenant: "acme", state: "open" });
    expect(detection.key).toMatch(/^tenant\+user:[0-9a-f]{16}\.[0-9a-f]{16}$/);
    expect((listed.json as { entered: number }).entered).toBe(1);
    // Listing again enters nothing twice.
    expect(((await cli(["detections", "list", "--json"])).json as { entered: number }).entered).toBe(0);

    const snapshot = await cli(["status", "--json"]);
    const shown = (snapshot.json as { status: { detections: Array<{ id: string; state: string }> } }).status;
    expect(shown.detections.map((d) => [d.id, d.state])).toEqual([[detection.id, "open"]]);

    const incident = await cli(["incident", "open", "INC-77", "--from-detection", detection.id, "--json"]);
    expect(incident.code, incident.stderr).toBe(0);

    const released = await cli([
      "detections",
      "release",
      detection.id,
      "--reason",
      "test",
      "--yes",
      "--json",
    ]);
    expect(released.code, released.stderr).toBe(0);
    expect(released.json).toMatchObject({ action: "detection-release", quarantine: "released" });
    await until(
      async () => (await status(east, "/api/acme/patients/search", mallory)) === 200,
      10_000,
      "the subject to pass again",
    );
    const again = await cli(["detections", "release", detection.id, "--yes"]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("already released");

    // One trigger from the edge (across both isolates), one resolve from the release, same dedup_key.
    const events = receiver.posts.map((p) => JSON.parse(p.body) as Record<string, unknown>);
    expect(events.map((e) => [e.event_action, e.dedup_key, e.routing_key])).toEqual([
      ["trigger", detection.id, "routing-key-7"],
      ["resolve", detection.id, "routing-key-7"],
    ]);

    const audit = await readAudit({ redis: restRedis(redis.connection), prefix: "containment:" });
    const actions = audit.map((r) => r.entry.action);
    expect(actions).toContain("detection");
    expect(actions).toContain("detection-release");
    const entered = audit.find((r) => r.entry.action === "detection");
    expect(entered?.entry.after).toMatchObject({ attestedBy: "edge", detection: detection.id });
    const opened = audit.find((r) => r.entry.action === "incident-open" && r.entry.phase === "result");
    expect(JSON.stringify(opened?.entry)).toContain(detection.id);
    expect(JSON.stringify(audit)).not.toContain("mallory");

    // The report shows the detection (attested in the audit chain, released by the responder) and
    // offers its trip time for the discovery decision without changing the entered time.
    const written = await cli(["report", "--incident", "INC-77", "--format", "json"]);
    expect(written.code, written.stderr).toBe(0);
    const report = JSON.parse(written.stdout) as {
      incident: { discovered: string; firstDetection: { id: string; at: string } | null };
      detections: Array<Record<string, unknown>>;
    };
    expect(report.detections).toEqual([
      expect.objectContaining({
        id: detection.id,
        detector: "patient-enumeration",
        route: "/api/:tenant/patients/:id",
        key: detection.key,
        tenant: "acme",
        action: "quarantined",
        releasedBy: expect.any(String),
        auditSeq: expect.any(Number),
      }),
    ]);
    expect(report.incident.firstDetection?.id).toBe(detection.id);
    expect(JSON.stringify(report)).not.toContain("mallory");
  });
});
