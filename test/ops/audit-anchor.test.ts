/**
 * What the Edge Config anchor bounds, on a real Redis and the Vercel API stand-in: whoever can
 * append to the stream (the responders' Redis credential, or Redis itself) cannot add entries that
 * verify beyond one change's allowance, cannot get them anchored by the next legitimate change, and
 * cannot pass a malformed or missing anchor off as "no anchor yet".
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { AUDIT_ANCHOR_ITEM } from "../../src/model/edge-config-items.js";
import {
  ANCHOR_ALLOWANCE,
  type AuditContext,
  type AuditDraft,
  anchorMove,
  appendAudit,
  createSigner,
  generateSigningKey,
  readAnchor,
  readAudit,
  readForVerify,
  verifyAudit,
} from "../../src/ops/audit/index.js";
import { VercelApi } from "../../src/ops/edge-config-api.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { type RedisFixture, startRedisFixture } from "../integration/redis-fixture.js";

let redis: RedisFixture;
let ec: EdgeConfigServer;
let prefix = "";
let n = 0;

beforeAll(async () => {
  redis = await startRedisFixture();
  ec = await startEdgeConfigServer({ items: {} });
});
afterAll(async () => {
  await redis?.close();
  await ec?.close();
});
beforeEach(() => {
  prefix = `anchor${++n}:`;
  ec.deleteItem(AUDIT_ANCHOR_ITEM);
});

const api = () => new VercelApi({ base: ec.apiUrl, token: ec.apiToken, edgeConfigId: ec.id });
const alice = { source: "vercel" as const, id: "user_alice", name: "alice" };
const mallory = { source: "vercel" as const, id: "user_bob", name: "bob" };

function change(phase: "intent" | "result", extra: Partial<AuditDraft> = {}): AuditDraft {
  return {
    actor: alice,
    claimedActor: null,
    action: "kill",
    phase,
    incident: "INC-1",
    reason: "exports",
    key: "containment_kill_exports",
    before: null,
    after: { id: "exports", version: 1 },
    ...(phase === "result" ? { outcome: "ok" as const, detail: "created" } : {}),
    ...extra,
  };
}
/** A lift "by bob" as someone who can only write the stream would forge it. */
const forgedLift = (phase: "intent" | "result") =>
  change(phase, { actor: mallory, action: "lift", after: null, reason: "all clear" });

/** A responder: appends and moves the anchor in Edge Config. */
const responder = (extra: Partial<AuditContext> = {}): AuditContext => ({
  redis: restRedis(redis.connection),
  prefix,
  api: api(),
  ...extra,
});
/** Someone with the Redis credential alone: appends through the same script, cannot touch Edge Config. */
const streamWriter = (): AuditContext => ({ redis: restRedis(redis.connection), prefix });

async function verifyLive(options: { allowUnanchored?: boolean } = {}) {
  const { records, anchor } = await readForVerify(responder(), api());
  return verifyAudit(records, { anchor, ...options });
}

describe("entries after the Edge Config anchor", () => {
  it("verifies a chain anchored by its writers, and one change in flight after the anchor", async () => {
    await appendAudit(responder(), change("intent"));
    await appendAudit(responder(), change("result"));
    expect(await verifyLive()).toMatchObject({ ok: true, anchor: "present", unanchored: 0 });
    // The next change's intent is chained, its PATCH (which anchors it) not yet sent.
    await appendAudit(responder(), change("intent", { action: "extend" }), { anchor: false });
    expect(await verifyLive()).toMatchObject({ ok: true, unanchored: 1 });
    // Its PATCH failed: the failed result follows the unanchored intent (both in flight).
    await appendAudit(streamWriter(), change("result", { action: "extend", outcome: "failed" }));
    expect(await verifyLive()).toMatchObject({ ok: true, unanchored: ANCHOR_ALLOWANCE });
  });

  it.each([
    [
      "three entries (more than one change)",
      [change("intent"), change("result", { outcome: "failed" }), change("intent", { action: "extend" })],
    ],
    ["a forged lift by another person, intent and ok result", [forgedLift("intent"), forgedLift("result")]],
    [
      "a forged completed quarantine release",
      [
        change("intent", { action: "quarantine-release", key: "quarantine:ip:x" }),
        change("result", { action: "quarantine-release", key: "quarantine:ip:x" }),
      ],
    ],
  ])("fails when the stream holds %s after the anchor, and says how to re-anchor", async (_name, forged) => {
    await appendAudit(responder(), change("intent"));
    await appendAudit(responder(), change("result"));
    for (const draft of forged) await appendAudit(streamWriter(), draft);
    const verdict = await verifyLive();
    expect(verdict.ok).toBe(false);
    expect(verdict.firstBreak?.reason).toMatch(/containment audit anchor --yes/);
    expect(verdict.firstBreak?.reason.split("\n")).toHaveLength(1);
    expect(verdict.tail.map((entry) => entry.seq)).toEqual(forged.map((_, i) => 3 + i));
  });

  it("does not let the next legitimate change anchor entries it did not write", async () => {
    await appendAudit(responder(), change("intent"));
    await appendAudit(responder(), change("result"));
    await appendAudit(streamWriter(), forgedLift("intent"));
    await appendAudit(streamWriter(), { ...forgedLift("result"), outcome: "failed" });
    // Two foreign entries and one own: an anchor over them would vouch for the forgery.
    const next = await appendAudit(responder(), change("intent", { action: "extend" }));
    expect(next.anchorError).toMatch(/^2 audit entries .* not written by this command/);
    expect(await readAnchor(api())).toMatchObject({ seq: 2 });
    expect((await verifyLive()).ok).toBe(false);
    // A change's PATCH refuses to carry the anchor for the same reason.
    const current = ec.items()[AUDIT_ANCHOR_ITEM];
    expect(anchorMove(current, 5, "a".repeat(64)).refused).toMatch(/not written by this command/);
    expect(anchorMove(current, 5, "a".repeat(64), { reviewed: true }).op).toBeDefined();
    // One entry of a concurrent responder besides its own is what two changes at once leave.
    expect(anchorMove(current, 4, "a".repeat(64)).op).toBeDefined();
  });

  it("fails on a malformed anchor, and never overwrites it on its own", async () => {
    await appendAudit(responder(), change("intent"));
    for (const junk of ["garbage", { seq: "x", hash: 1 }, ["1:abc"], null]) {
      ec.setItem(AUDIT_ANCHOR_ITEM, junk as never);
      const anchor = await readAnchor(api());
      expect(anchor).toMatchObject({ malformed: junk });
      const verdict = await verifyLive({ allowUnanchored: true });
      expect(verdict).toMatchObject({ ok: false, anchor: "malformed" });
      expect(verdict.firstBreak?.reason).toMatch(/not a chain head/);
      const next = await appendAudit(responder(), change("result"));
      expect(next.anchorError).toMatch(/^containment_audit_head holds no chain head/);
      expect(ec.items()[AUDIT_ANCHOR_ITEM]).toEqual(junk);
    }
  });

  it("fails on a missing anchor when the chain has entries, unless unanchored chains are allowed", async () => {
    expect(await verifyLive()).toMatchObject({ ok: true, count: 0, anchor: "absent" });
    await appendAudit(streamWriter(), change("intent"));
    expect(await readAnchor(api())).toBeNull();
    const verdict = await verifyLive();
    expect(verdict).toMatchObject({ ok: false, anchor: "absent", unanchored: 1 });
    expect(verdict.firstBreak?.reason).toMatch(/containment_audit_head is missing/);
    expect(await verifyLive({ allowUnanchored: true })).toMatchObject({ ok: true, anchor: "absent" });
    const records = await readAudit(streamWriter());
    expect((await verifyAudit(records)).firstBreak?.reason).toMatch(/no Edge Config anchor was given/);
  });

  it("finds every forged entry, within the allowance too, when the responders sign", async () => {
    const ours = await generateSigningKey("alice");
    const signer = await createSigner(ours.privateJwk);
    await appendAudit(responder({ signer }), change("intent"));
    await appendAudit(responder({ signer }), change("result"));
    await appendAudit(streamWriter(), forgedLift("result"));
    const { records, anchor } = await readForVerify(responder(), api());
    expect(await verifyAudit(records, { anchor })).toMatchObject({ ok: true, unanchored: 1 });
    const signed = await verifyAudit(records, { anchor, keys: ours.publicJwks });
    expect(signed.ok).toBe(false);
    expect(signed.firstBreak?.reason).toMatch(/entry 3 .* not signed/);
  });
});
