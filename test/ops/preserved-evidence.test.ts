/**
 * Preserved incident evidence against the edge's credential (docs/contracts.md, "Preserved
 * evidence"): the edge's ACL user can write the live mirror keys but not the incident copies, so
 * rewriting a live aggregate and running the report again must leave the preserved numbers as
 * they were and report the rewrite as tampering, in the report and in `evidence verify`; what the
 * mirror may still add (a late batch inside the retry horizon) is added, as a new version whose
 * content hash is in the audit chain. Real redis-server, real ACL users, real TCP client.
 */
import type { Redis as IoRedis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ResponderRedis } from "../../src/model/responder-redis.js";
import { appendAudit } from "../../src/ops/audit/index.js";
import type { IncidentContext } from "../../src/ops/incident-records.js";
import { EVIDENCE_RETRY_HORIZON_MS } from "../../src/ops/incident-versions.js";
import { openIncident, readVersions } from "../../src/ops/incidents.js";
import { buildReport } from "../../src/ops/report/build.js";
import { evidenceFiles, verifyEvidence } from "../../src/ops/report/evidence.js";
import { gatherReport } from "../../src/ops/report/gather.js";
import { startAclRedis } from "../support/acl-redis.js";
import type { RedisServer } from "../support/redis-server.js";
import { renderedReport } from "../support/rendered-report.js";

const P = "containment:";
const MINUTE = 60_000;
/** A short look-back keeps each refresh to a few dozen minutes of keys. */
const LOOKBACK = 30 * MINUTE;
let server: RedisServer;
let admin: IoRedis;
let edge: IoRedis;
let responder: ResponderRedis;
let now = Date.parse("2026-12-01T21:00:30Z");
const m = Math.floor(now / MINUTE);

/** What the CLI does with a new version: its content hash goes into the audit chain. */
const onVersion = async (version: object, incident: string) => {
  await appendAudit(
    { redis: responder, prefix: P },
    {
      action: "evidence-version",
      phase: "result",
      actor: { source: "local", id: null, name: "test" },
      claimedActor: null,
      incident,
      reason: null,
      key: `incident:${incident}:versions`,
      before: null,
      after: { ...version },
      outcome: "ok",
    },
  );
};

beforeAll(async () => {
  ({ server, admin, edge, responder } = await startAclRedis());
});
afterAll(async () => {
  edge?.disconnect();
  admin?.disconnect();
  await responder?.close();
  await server?.stop();
});
beforeEach(async () => {
  await admin.flushall();
  now = Date.parse("2026-12-01T21:00:30Z");
});

const ctx = (): IncidentContext => ({ client: responder, prefix: P, now: () => now });
const report = async () => {
  const gathered = await gatherReport({ redis: responder, prefix: P, now: () => now }, "INC-1", {
    document: { version: 1, rules: [] },
    onVersion,
  });
  return { gathered, built: buildReport(gathered.inputs) };
};
const blocked = (built: ReturnType<typeof buildReport>) =>
  built.decisions.perMinute.reduce((sum, row) => sum + row.blocked, 0);

/** The edge writes a minute's aggregates, as its flush script would. */
async function edgeWrites(minute: number, n: number) {
  await edge.hincrby(`${P}counts:${minute}`, "exports|block", n);
  await edge.hincrby(`${P}traffic:${minute}`, "/api/:tenant/export|GET|acme|block", n);
  await edge.zincrby(`${P}top:${minute}:tenant`, n, "acme");
}

describe("preserved evidence and the edge's credential", { timeout: 120_000 }, () => {
  it("keeps the preserved numbers when the edge rewrites a live aggregate, and reports the rewrite as tampering in every format", async () => {
    await edgeWrites(m - 2, 4);
    await openIncident(
      ctx(),
      { id: "INC-1", title: "Exports", discovered: now - 10 * MINUTE, lookbackMs: LOOKBACK },
      { onVersion },
    );
    const before = await report();
    expect(blocked(before.built)).toBe(4);
    expect(before.built.evidence).toMatchObject({ versions: 1, intact: true, tampering: [] });

    // The attack: the edge's own ACL user shrinks the live aggregates, then a report refreshes.
    await edge.hset(`${P}counts:${m - 2}`, "exports|block", "1");
    await edge.hdel(`${P}traffic:${m - 2}`, "/api/:tenant/export|GET|acme|block");
    await edge.hset(`${P}traffic:${m - 2}`, "/other|GET|-|allow", "1");
    await edge.zadd(`${P}top:${m - 2}:tenant`, 0, "acme");
    now += MINUTE;
    const after = await report();

    expect(blocked(after.built)).toBe(4);
    expect(after.built.reachedBeforeContainment).toEqual(before.built.reachedBeforeContainment);
    expect(after.built.evidence.intact).toBe(false);
    expect(after.built.evidence.tampering).toHaveLength(3);
    expect(after.built.evidence.tampering.join("\n")).toMatch(
      /counts .* exports\|block: the live key says 1, the preserved copy 4/,
    );
    const rendered = renderedReport(after.built);
    expect(rendered.markdown).toMatch(/EVIDENCE TAMPERING/);
    expect(rendered.html).toMatch(/EVIDENCE TAMPERING/);
    // The copy itself is out of the edge's reach.
    await expect(edge.hset(`${P}incident:INC-1:counts:${m - 2}`, "exports|block", "0")).rejects.toThrow(
      /NOPERM/,
    );
    await expect(edge.del(`${P}incident:INC-1:tampering`)).rejects.toThrow(/NOPERM/);
    await expect(edge.hset(`${P}incident:INC-1:versions`, "9", "{}")).rejects.toThrow(/NOPERM/);

    // The finding outlives the live keys: they expire (or are deleted), the report still says it.
    await edge.del(`${P}counts:${m - 2}`, `${P}traffic:${m - 2}`, `${P}top:${m - 2}:tenant`);
    const later = await report();
    expect(blocked(later.built)).toBe(4);
    expect(later.built.evidence.intact).toBe(false);

    // The bundle carries it too: `evidence verify` fails (exit 8 in the CLI).
    const files = await evidenceFiles(later.gathered, later.built, renderedReport(later.built));
    const check = await verifyEvidence(files);
    expect(check.ok).toBe(false);
    expect(check.problems.join("\n")).toMatch(/EVIDENCE TAMPERING: counts .* exports\|block/);
  });

  it("adds a late batch inside the retry horizon as a new version in the audit chain; freezes the minute after it", async () => {
    await edgeWrites(m - 2, 4);
    await openIncident(
      ctx(),
      { id: "INC-1", title: "Exports", discovered: now - 10 * MINUTE, lookbackMs: LOOKBACK },
      { onVersion },
    );
    await edgeWrites(m - 2, 3);
    now += 5 * MINUTE;
    const late = await report();
    expect(blocked(late.built)).toBe(7);
    expect(late.built.evidence).toMatchObject({ versions: 2, intact: true });
    const versions = await readVersions(ctx(), "INC-1");
    const chained = late.gathered.chain
      .filter((r) => r.entry.action === "evidence-version")
      .map((r) => (r.entry.after as { hash: string }).hash);
    expect(chained).toEqual(versions.map((v) => v.hash));
    const clean = await verifyEvidence(
      await evidenceFiles(late.gathered, late.built, renderedReport(late.built)),
    );
    expect(clean.problems).toEqual([]);
    expect(clean.ok).toBe(true);

    // Past the horizon even an addition is refused: the minute is frozen.
    now = (m - 1) * MINUTE + EVIDENCE_RETRY_HORIZON_MS + MINUTE;
    await edgeWrites(m - 2, 100);
    const frozen = await report();
    expect(blocked(frozen.built)).toBe(7);
    expect(frozen.built.evidence.intact).toBe(false);
    expect(frozen.built.evidence.tampering.join("\n")).toMatch(/after the minute was frozen/);
  });

  it("catches a bundle whose aggregates were edited after export", async () => {
    await edgeWrites(m - 2, 4);
    await openIncident(
      ctx(),
      { id: "INC-1", title: "Exports", discovered: now - 10 * MINUTE, lookbackMs: LOOKBACK },
      { onVersion },
    );
    const { gathered, built } = await report();
    const files = new Map(await evidenceFiles(gathered, built, renderedReport(built)));
    expect((await verifyEvidence(files)).ok).toBe(true);
    // Edit counts.jsonl and fix up its manifest line: only the version's content hash still knows.
    const counts = (files.get("counts.jsonl") ?? "").replace('"exports|block":4', '"exports|block":1');
    files.set("counts.jsonl", counts);
    const manifest = JSON.parse(files.get("manifest.json") ?? "{}") as {
      files: Array<{ name: string; sha256: string; bytes: number }>;
    };
    const { sha256Hex } = await import("../../src/core/hash.js");
    for (const file of manifest.files)
      if (file.name === "counts.jsonl") {
        file.sha256 = await sha256Hex(counts);
        file.bytes = Buffer.byteLength(counts);
      }
    files.set("manifest.json", JSON.stringify(manifest));
    const check = await verifyEvidence(files);
    expect(check.ok).toBe(false);
    expect(check.problems.join("\n")).toMatch(/do not hash to version 1/);
  });
});
