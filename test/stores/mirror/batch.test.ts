/**
 * A heavy flood's every other batch holds its aggregates and top-list increments back for the next
 * one (stores/batch.ts): fewer Redis commands per flush, and nothing lost or counted twice.
 */
import { describe, expect, it } from "vitest";
import { Keyring } from "../../../src/core/identity.js";
import type { Decision } from "../../../src/model/decision.js";
import { MirrorAccumulator } from "../../../src/stores/mirror/accumulator.js";
import { type BatchContext, buildBatch } from "../../../src/stores/mirror/batch.js";

function blocked(at: number, seq: number): Decision {
  return {
    requestId: `r${seq}`,
    at,
    method: "GET",
    path: "/api/acme/export",
    route: "/api/:tenant/export",
    host: "app.example.com",
    region: "iad1",
    rulesetDigest: "d1",
    latencyMs: 0,
    notes: [],
    tenant: "acme",
    ip: `198.51.100.${seq % 200}`,
    outcome: "block",
    rule: "exports",
    kind: "kill-switch",
    reason: "kill-switch",
    status: 503,
  };
}

const context: BatchContext = {
  prefix: "t:",
  keyring: new Keyring("salt"),
  isolate: "i1",
  maxEvents: 1_000,
  retentionSeconds: 3_600,
  aggregateAfter: 2,
  expiring: new Set(),
};

function fill(accumulator: MirrorAccumulator, from: number, n: number): void {
  for (let seq = from; seq < from + n; seq++) {
    const decision = blocked(1_796_000_000_000 + seq, seq);
    accumulator.count(decision);
    accumulator.queue({ item: decision, seq });
  }
}

const named = (commands: ReadonlyArray<{ args: readonly string[] }>, name: string) =>
  commands.filter((command) => command.args[0] === name);

describe("a held-back batch of a heavy flood", () => {
  it("writes counts now and its aggregate and top lists with the next batch, merged and exact", async () => {
    const accumulator = new MirrorAccumulator({
      bufferSize: 2_000,
      tableSize: 10_000,
      reservedShapes: 2_000,
      generalShapes: 500,
    });
    fill(accumulator, 0, 30);
    const leftover = { batchSize: 500, accumulator };
    const held = await buildBatch(1, accumulator.take(2_000), { ...context, holdSummaries: true }, leftover);
    expect(named(held.commands, "XADD")).toHaveLength(0);
    expect(named(held.commands, "ZINCRBY")).toHaveLength(0);
    expect(held.decisions).toBe(30);
    expect(named(held.commands, "HINCRBY").map((c) => c.args[3])).toEqual(["30", "30"]);
    expect(accumulator.hasWork()).toBe(true);

    fill(accumulator, 30, 20);
    const next = await buildBatch(2, accumulator.take(2_000), context, leftover);
    const xadds = named(next.commands, "XADD");
    expect(xadds).toHaveLength(1);
    const fields = xadds[0]?.args.slice(6) ?? [];
    const field = (name: string) => fields[fields.indexOf(name) + 1];
    expect(field("count")).toBe("50");
    expect(field("first")).toBe("1796000000000");
    expect(field("last")).toBe("1796000000049");
    const top = named(next.commands, "ZINCRBY").map((c) => Number(c.args[2]));
    // Tenant and network lists: every one of the 50 blocks once in each.
    expect(top).toEqual([50, 50]);
    expect(next.decisions).toBe(20);
    expect(accumulator.hasWork()).toBe(false);
  });
});
