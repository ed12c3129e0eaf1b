import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { APPEND_SCRIPT } from "../../src/ops/audit/chain.js";
import {
  type AuditContext,
  type AuditDraft,
  type AuditRecord,
  appendAudit,
  auditKeys,
  createSigner,
  generateSigningKey,
  memoryJournal,
  readAudit,
  syncJournal,
  verifyAudit,
} from "../../src/ops/audit/index.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { type RedisFixture, startRedisFixture, until } from "../integration/redis-fixture.js";

let redis: RedisFixture;
let prefix = "";
let n = 0;

beforeAll(async () => {
  redis = await startRedisFixture();
});
afterAll(() => redis.close());
beforeEach(() => {
  prefix = `t${++n}:`;
});

const actor = { source: "vercel" as const, id: "user_1", name: "alice" };
/** These tests check the links; the anchor's part is in test/ops/audit-anchor.test.ts. */
const LINKS_ONLY = { allowUnanchored: true };
function draft(i: number, extra: Partial<AuditDraft> = {}): AuditDraft {
  return {
    actor,
    claimedActor: null,
    action: "kill",
    phase: i % 2 === 0 ? "intent" : "result",
    incident: "INC-1",
    reason: `step ${i}`,
    key: `containment_kill_k${i}`,
    before: null,
    after: { id: `k${i}`, version: 1 },
    ...extra,
  };
}

function ctx(extra: Partial<AuditContext> = {}): AuditContext {
  return { redis: restRedis(redis.connection), prefix, ...extra };
}

describe("the audit chain on a real Redis", () => {
  it("keeps one unbroken chain when 20 responders append at the same time", async () => {
    // A generous deadline: this asserts the chain, not speed, on a loaded 2-core machine.
    const context = ctx({ timeoutMs: 60_000 });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => appendAudit(context, draft(i))));
    expect(results.every((r) => !r.journaled)).toBe(true);
    const records = await readAudit(context);
    expect(records.map((r) => r.entry.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set(records.map((r) => r.entry.reason)).size).toBe(20);
    const verdict = await verifyAudit(records, LINKS_ONLY);
    expect(verdict).toMatchObject({ ok: true, count: 20 });
    expect(await redis.io.get(auditKeys(prefix).head)).toBe(verdict.head);
    // Redis's own clock is recorded beside the client's.
    for (const record of records)
      expect(Math.abs(record.entry.redisTime - Date.parse(record.entry.ts))).toBeLessThan(60_000);
  });

  it("refuses an append built on a stale head, and a backdated Redis time", async () => {
    const context = ctx();
    await appendAudit(context, draft(0));
    const keys = auditKeys(prefix);
    const stale = await redis.io.eval(
      APPEND_SCRIPT,
      2,
      keys.stream,
      keys.head,
      "",
      "{}",
      "x",
      String(Date.now()),
      "1:x",
      "",
    );
    expect((stale as unknown[])[0]).toBe(0);
    const head = (await redis.io.get(keys.head)) as string;
    const backdated = await redis.io.eval(
      APPEND_SCRIPT,
      2,
      keys.stream,
      keys.head,
      head,
      "{}",
      "x",
      String(Date.now() - 3_600_000),
      "2:x",
      "",
    );
    expect((backdated as unknown[])[0]).toBe(-1);
    expect(await redis.io.xlen(keys.stream)).toBe(1);
  });

  it("finds a deleted entry, a reordered pair and an altered entry", async () => {
    const context = ctx();
    for (let i = 0; i < 5; i++) await appendAudit(context, draft(i));
    const records = await readAudit(context);

    const altered = structuredClone(records);
    (altered[2] as AuditRecord).entry.reason = "nothing to see";
    expect((await verifyAudit(altered, LINKS_ONLY)).firstBreak?.reason).toMatch(/entry 3 .* altered/);

    const reordered = [records[0], records[2], records[1], records[3], records[4]] as AuditRecord[];
    expect((await verifyAudit(reordered, LINKS_ONLY)).firstBreak?.reason).toMatch(/entry 2 .*seq 3/);

    await redis.io.xdel(auditKeys(prefix).stream, (records[1] as AuditRecord).id);
    const afterDelete = await verifyAudit(await readAudit(context), LINKS_ONLY);
    expect(afterDelete.ok).toBe(false);
    expect(afterDelete.firstBreak?.index).toBe(1);
  });

  it("finds a truncated tail with a rewritten head only through the Edge Config anchor", async () => {
    const context = ctx();
    for (let i = 0; i < 4; i++) await appendAudit(context, draft(i));
    const records = await readAudit(context);
    const last = records[3] as AuditRecord;
    const anchor = { seq: last.entry.seq, hash: last.hash };
    expect((await verifyAudit(records, { anchor })).ok).toBe(true);
    // Someone with only the Redis token drops the last entry and points the head at the one before.
    const keys = auditKeys(prefix);
    await redis.io.xdel(keys.stream, last.id);
    await redis.io.set(keys.head, `3:${(records[2] as AuditRecord).hash}`);
    const truncated = await readAudit(context);
    expect((await verifyAudit(truncated, LINKS_ONLY)).ok).toBe(true);
    const verdict = await verifyAudit(truncated, { anchor });
    expect(verdict.ok).toBe(false);
    expect(verdict.firstBreak?.reason).toMatch(/truncated/);
    // …and a rewritten last entry (same length) is found too.
    const rewritten = structuredClone(records);
    const forged = rewritten[3] as AuditRecord;
    forged.entry.reason = "forged";
    const { hashEntry } = await import("../../src/ops/audit/index.js");
    forged.hash = await hashEntry(forged.entry);
    expect((await verifyAudit(rewritten, LINKS_ONLY)).ok).toBe(true);
    expect((await verifyAudit(rewritten, { anchor })).firstBreak?.reason).toMatch(/rewritten/);
  });

  it("finds an unsigned or wrongly signed entry when keys are given", async () => {
    const ours = await generateSigningKey("alice");
    const theirs = await generateSigningKey("mallory");
    const signed = ctx({ signer: await createSigner(ours.privateJwk) });
    await appendAudit(signed, draft(0));
    await appendAudit(signed, draft(1));
    expect(
      await verifyAudit(await readAudit(signed), { ...LINKS_ONLY, keys: ours.publicJwks }),
    ).toMatchObject({
      ok: true,
      signed: 2,
    });

    await appendAudit(ctx(), draft(2));
    const unsigned = await verifyAudit(await readAudit(signed), { ...LINKS_ONLY, keys: ours.publicJwks });
    expect(unsigned.firstBreak?.reason).toMatch(/entry 3 .* not signed/);

    prefix = `t${++n}:`;
    const wrong = ctx({ signer: await createSigner({ ...theirs.privateJwk, kid: "alice" }) });
    await appendAudit(wrong, draft(0));
    const forged = await verifyAudit(await readAudit(wrong), { ...LINKS_ONLY, keys: ours.publicJwks });
    expect(forged.firstBreak?.reason).toMatch(/no given key verifies/);
  });

  it("journals entries while Redis is down and syncs them into one unbroken chain", async () => {
    const journal = memoryJournal();
    const context = ctx({ journal, timeoutMs: 2000 });
    await appendAudit(context, draft(0));
    await redis.server.stop();
    try {
      const down = await appendAudit(context, draft(1, { ts: "2026-12-01T10:00:00.000Z" }));
      expect(down).toMatchObject({ journaled: true });
      await appendAudit(context, draft(2));
      expect(await journal.list()).toHaveLength(2);
    } finally {
      await redis.server.start();
    }
    await until(
      async () =>
        (await restRedis(redis.connection)
          .ping()
          .catch(() => "")) === "PONG",
      10_000,
      "the bridge to reconnect",
    );
    // A fresh (empty) Redis: the test restarts it, so chain from scratch.
    const result = await syncJournal(context);
    expect(result).toEqual({ synced: 2, skipped: 0, remaining: 0 });
    expect(await syncJournal(context)).toEqual({ synced: 0, skipped: 0, remaining: 0 });
    const records = await readAudit(context);
    expect(records.map((r) => [r.entry.reason, r.entry.journaled])).toEqual([
      ["step 1", true],
      ["step 2", true],
    ]);
    expect((records[0] as AuditRecord).entry.ts).toBe("2026-12-01T10:00:00.000Z");
    expect((await verifyAudit(records, LINKS_ONLY)).ok).toBe(true);
  });
});
