/**
 * `status`: one snapshot of containment: the digest live in Edge Config, each region's isolates
 * and what they enforce, the switches with time left, blocked / rate-limited counts of the last
 * minutes per rule, quarantines, the latest detections, rejected pushes, mirror drops, and Edge Config items that changed
 * without a matching audit entry (the Vercel UI, curl, Terraform). Every part that cannot be read
 * says so instead of failing the whole snapshot.
 */

import { errorText } from "../../core/errors.js";
import { KILL_SWITCH_PREFIX, RULES_ITEM } from "../../model/edge-config-items.js";
import type { Json } from "../../model/json.js";
import { canonicalJson, readAudit } from "../audit/index.js";
import type { OpsContext } from "../context.js";
import { type DetectionRow, listDetections } from "../detections.js";
import { readStore } from "./edge-config-snapshot.js";
import { type ExpiringSwitch, expiringSwitches } from "./incident-switches.js";
import { type SwitchRow, switchRows } from "./list.js";

export interface RegionStatus {
  region: string;
  isolates: number;
  verified: number;
  digests: string[];
  lastSeen: number;
}

export interface StatusSnapshot {
  at: number;
  digest: string | null;
  switches: SwitchRow[];
  /** Switches lifting themselves within 15 minutes while their incident is open: each an alert. */
  expiring: ExpiringSwitch[];
  regions: RegionStatus[] | null;
  counts: Array<{ rule: string; outcome: string; n: number }> | null;
  quarantined: number | null;
  /** The latest detections (newest first), with what they did and who released them. */
  detections: DetectionRow[] | null;
  rejectedPushes: Array<{ at: number; region: string; message: string }> | null;
  drops: { decisions: number; events: number } | null;
  /** Keys whose current value no audit result entry wrote. */
  unaudited: string[] | null;
  problems: string[];
}

const COUNT_MINUTES = 5;

async function part<T>(problems: string[], what: string, work: () => Promise<T>): Promise<T | null> {
  try {
    return await work();
  } catch (error) {
    problems.push(`${what}: ${errorText(error)}`);
    return null;
  }
}

function regionsOf(
  records: Awaited<ReturnType<NonNullable<OpsContext["reader"]>["isolates"]>>,
): RegionStatus[] {
  const map = new Map<string, RegionStatus>();
  for (const record of records) {
    const region = map.get(record.region) ?? {
      region: record.region,
      isolates: 0,
      verified: 0,
      digests: [],
      lastSeen: 0,
    };
    region.isolates++;
    if (record.trust === "verified") region.verified++;
    const digest = record.report?.digest;
    if (digest !== undefined && !region.digests.includes(digest)) region.digests.push(digest);
    region.lastSeen = Math.max(region.lastSeen, record.at);
    map.set(record.region, region);
  }
  return [...map.values()].sort((a, b) => a.region.localeCompare(b.region));
}

async function unauditedKeys(ctx: OpsContext, items: ReadonlyMap<string, Json>): Promise<string[]> {
  const records = await readAudit(ctx.audit);
  const last = new Map<string, string>();
  for (const { entry } of records)
    if (entry.phase === "result" && entry.outcome === "ok" && entry.key !== null)
      last.set(entry.key, canonicalJson(entry.after));
  const out: string[] = [];
  for (const [key, value] of items) {
    if (key !== RULES_ITEM && !key.startsWith(KILL_SWITCH_PREFIX)) continue;
    if (last.get(key) !== canonicalJson(value)) out.push(key);
  }
  for (const [key, after] of last)
    if (after !== "null" && !items.has(key) && key.startsWith(KILL_SWITCH_PREFIX))
      out.push(`${key} (deleted)`);
  return out.sort();
}

export async function readStatus(ctx: OpsContext): Promise<StatusSnapshot> {
  const problems: string[] = [];
  const now = ctx.now();
  const snapshot = await readStore(ctx);
  const digest = await part(problems, "store digest", async () => (await ctx.api.store()).digest);
  const reader = ctx.reader;
  if (reader === undefined)
    problems.push("no Redis configured: regions, counts, quarantines and drops are not shown");
  const minute = Math.floor(now / 60_000);
  const [regions, counts, quarantined, detections, rejectedPushes, drops, unaudited] = await Promise.all([
    reader
      ? part(problems, "isolate reports", async () =>
          regionsOf(await reader.isolates({ sinceMs: now - 5 * 60_000 })),
        )
      : null,
    reader
      ? part(problems, "counts", async () => {
          const rows = await reader.counts({ from: minute - COUNT_MINUTES + 1, to: minute });
          const sums = new Map<string, { rule: string; outcome: string; n: number }>();
          for (const row of rows) {
            if (row.outcome === "allow") continue;
            const key = `${row.rule}|${row.outcome}`;
            const sum = sums.get(key) ?? { rule: row.rule, outcome: row.outcome, n: 0 };
            sum.n += row.n;
            sums.set(key, sum);
          }
          return [...sums.values()].sort((a, b) => b.n - a.n);
        })
      : null,
    reader ? part(problems, "quarantines", async () => (await reader.quarantines()).length) : null,
    ctx.redis ? part(problems, "detections", () => listDetections(ctx, 20)) : null,
    reader
      ? part(problems, "rejected pushes", async () =>
          (await reader.rejectedPushes({ sinceMs: now - 3_600_000 })).map((p) => ({
            at: p.at,
            region: p.region,
            message: p.message,
          })),
        )
      : null,
    reader ? part(problems, "mirror drops", () => reader.drops()) : null,
    ctx.redis ? part(problems, "audit comparison", () => unauditedKeys(ctx, snapshot.items)) : null,
  ]);
  const switches = switchRows(snapshot.items, now);
  const expiring = (await expiringSwitches(ctx, switches)).filter((s) => s.incidentOpen);
  return {
    at: now,
    digest,
    switches,
    expiring,
    regions,
    counts,
    quarantined,
    detections,
    rejectedPushes,
    drops,
    unaudited,
    problems,
  };
}
