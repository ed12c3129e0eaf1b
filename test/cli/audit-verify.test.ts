/**
 * `containment audit verify` and `audit anchor` as a responder runs them: the CLI spawned for real
 * against the Vercel API stand-in and a real Redis. Verified, journaled-not-synced and broken end
 * with the exit-code table's 0, 9 and 8; entries padded onto the stream fail with one line saying
 * how to re-anchor, and a reviewed re-anchor is itself audited.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { AUDIT_ANCHOR_ITEM } from "../../src/model/edge-config-items.js";
import { type AuditDraft, appendAudit, readAudit } from "../../src/ops/audit/index.js";
import { EXIT } from "../../src/ops/errors.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { type RedisFixture, startRedisFixture } from "../integration/redis-fixture.js";
import { responderEnv, runCli } from "../support/cli.js";

let ec: EdgeConfigServer;
let redis: RedisFixture;
let cwd: string;
const PREFIX = "averify:";

const cli = (args: string[]) =>
  runCli(args, { env: responderEnv(ec, redis.connection, { CONTAINMENT_REDIS_PREFIX: PREFIX }), cwd });
/** Whoever holds the Redis credential alone: appends through the chain's own script, no Edge Config. */
const streamWriter = { redis: () => restRedis(redis.connection), prefix: PREFIX };
const forged = (phase: "intent" | "result"): AuditDraft => ({
  actor: { source: "vercel", id: "user_bob", name: "bob" },
  claimedActor: null,
  action: "lift",
  phase,
  incident: "INC-9",
  reason: "all clear",
  key: "containment_kill_exports",
  before: { id: "exports", version: 1 },
  after: null,
  ...(phase === "result" ? { outcome: "ok" as const, detail: "lifted" } : {}),
});
const append = (draft: AuditDraft) =>
  appendAudit({ redis: streamWriter.redis(), prefix: PREFIX }, draft).then((r) => r.record?.entry.seq);

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "containment-audit-"));
  ec = await startEdgeConfigServer({ items: { containment: { version: 1, rules: [] } } });
  redis = await startRedisFixture();
});
afterAll(async () => {
  await redis?.close();
  await ec?.close();
  rmSync(cwd, { recursive: true, force: true });
});

describe("audit verify and audit anchor through the CLI", { timeout: 120_000 }, () => {
  it("tells verified, journaled-not-synced and broken apart, and re-anchors only after review", async () => {
    const kill = await cli(["kill", "/api/exports", "--reason", "leak", "--incident", "INC-9", "--yes"]);
    expect(kill.code).toBe(0);
    const verified = await cli(["audit", "verify", "--json"]);
    expect(verified.code).toBe(EXIT.ok);
    expect(verified.json).toMatchObject({ ok: true, status: "verified", count: 2, unanchored: 0 });

    // Padding: a "lift" by someone else, appended to the stream only.
    await append(forged("intent"));
    await append(forged("result"));
    const padded = await cli(["audit", "verify"]);
    expect(padded.code).toBe(EXIT.tampered);
    const complaint = padded.stderr.trim().split("\n");
    expect(complaint).toHaveLength(1);
    expect(complaint[0]).toMatch(/^edge-containment: .*containment audit anchor --yes/);
    expect(padded.stdout).toMatch(/#3 .*intent lift containment_kill_exports by bob/);

    // The next real change does not anchor over them either.
    const next = await cli(["kill", "/api/reports", "--reason", "leak", "--incident", "INC-9", "--yes"]);
    // The switch is written; the anchor step it skipped makes the command end incomplete.
    expect(next.code).toBe(EXIT.incomplete);
    expect(next.stderr).toMatch(/audit anchor was not moved: .*not written by this command/);
    expect((await cli(["audit", "verify"])).code).toBe(EXIT.tampered);

    // A person reviewed them (say, a responder whose anchor writes failed): re-anchor, audited.
    const unconfirmed = await cli(["audit", "anchor"]);
    expect(unconfirmed.code).toBe(EXIT.declined);
    const anchored = await cli(["audit", "anchor", "--reason", "reviewed with bob", "--yes", "--json"]);
    expect(anchored.code).toBe(0);
    expect(anchored.json).toMatchObject({ reviewed: 4 });
    const records = await readAudit({ redis: streamWriter.redis(), prefix: PREFIX });
    expect(records.slice(-2).map((r) => [r.entry.action, r.entry.phase, r.entry.outcome ?? null])).toEqual([
      ["audit-anchor", "intent", null],
      ["audit-anchor", "result", "ok"],
    ]);
    expect(ec.items()[AUDIT_ANCHOR_ITEM]).toMatchObject({ seq: records.length });
    expect((await cli(["audit", "verify"])).code).toBe(EXIT.ok);

    // Journaled on this machine, not yet in Redis: the chain verifies, the command says sync.
    const journal = join(cwd, ".containment", "audit-journal.jsonl");
    mkdirSync(join(cwd, ".containment"), { recursive: true });
    const draft = { ...forged("intent"), actor: { source: "vercel", id: "user_local", name: "me" } };
    writeFileSync(journal, `${JSON.stringify({ uid: "u1", ts: new Date().toISOString(), draft })}\n`);
    const waiting = await cli(["audit", "verify", "--json"]);
    expect(waiting.code).toBe(EXIT.journaled);
    expect(waiting.json).toMatchObject({ ok: true, status: "journaled", journaled: 1 });
    rmSync(journal);

    // A malformed anchor is no "no anchor yet", and neither is a missing one.
    ec.setItem(AUDIT_ANCHOR_ITEM, "not-a-head");
    const malformed = await cli(["audit", "verify", "--allow-unanchored"]);
    expect(malformed.code).toBe(EXIT.tampered);
    expect(malformed.stderr).toMatch(/not a chain head/);
    ec.deleteItem(AUDIT_ANCHOR_ITEM);
    const missing = await cli(["audit", "verify"]);
    expect(missing.code).toBe(EXIT.tampered);
    expect(missing.stderr).toMatch(/containment_audit_head is missing/);
    expect((await cli(["audit", "verify", "--allow-unanchored"])).code).toBe(EXIT.ok);
    expect((await cli(["audit", "anchor", "--yes"])).code).toBe(0);
    expect((await cli(["audit", "verify"])).code).toBe(EXIT.ok);

    // A chain that does not verify is not re-anchored: that is evidence.
    await redis.io.xdel(`${PREFIX}audit`, records[1]?.id as string);
    const refused = await cli(["audit", "anchor", "--yes"]);
    expect(refused.code).toBe(EXIT.tampered);
    expect((await cli(["audit", "verify"])).code).toBe(EXIT.tampered);
  });
});
