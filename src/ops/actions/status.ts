/**
 * `status`: one snapshot of containment: the digest live in Edge Config, each region's isolates
 * and what they enforce, the switches with time left, blocked / rate-limited counts of the last
 * minutes per rule, quarantines, the latest detections, rejected pushes, mirror drops, and Edge Config items that changed
 * without a matching audit entry (the Vercel UI, curl, Terraform). Every part that cannot be read
 * says so instead of failing the whole snapshot.
 */

import { rulesetDigest } from "../../core/digest.js";
import { errorText } from "../../core/errors.js";
import { KILL_SWITCH_PREFIX, parseDevRulesDescription, RULES_ITEM } from "../../model/edge-config-items.js";
import type { Json } from "../../model/json.js";
import { canonicalJson, readAudit } from "../audit/index.js";
import type { OpsContext } from "../context.js";
import { type DetectionRow, listDetections } from "../detections.js";
import { readStore, type StoreSnapshot } from "./edge-config-snapshot.js";
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
  /**
   * The ruleset digest of the live rules document with the live kill switches: what an isolate
   * enforcing them reports (`digest` is the Edge Config store's own, a different hash).
   */
  rulesetDigest: string | null;
  /**
   * Whether every region that reported enforces `rulesetDigest`: null when nothing reported (or
   * either side is unknown). Regions report within seconds of a change; a disagreement that lasts
   * is a region not enforcing what Edge Config holds.
   */
  digestsAgree: boolean | null;
  /**
   * When the last audited write to the rules or a kill switch was chained (Redis's clock, ms): a
   * region whose isolates last reported before it has not reported since the change, which is not
   * the same as enforcing something else (isolates report with their flushes, after requests).
   */
  lastChangeAt: number | null;
  /** Keys whose current value no audit result entry wrote, and that no known writer explains: the alarm. */
  unaudited: string[] | null;
  /** Every item whose value no audit entry wrote, with where it came from as far as can be told. */
  unauditedChanges: UnauditedChange[] | null;
  problems: string[];
}

/** An Edge Config item whose live value (or absence) no audit result entry accounts for. */
export interface UnauditedChange {
  key: string;
  /** The item is gone while its last audited value was not. */
  deleted: boolean;
  /**
   * `containment-dev`: the rules file of a running `containment dev` (the store is the one `--local`
   * names, and the item's description carries the digest of this very value). `outside`: anything
   * else (Vercel UI, curl, Terraform, another tool): the alarm.
   */
  source: "containment-dev" | "outside";
  /** The rules file, for `containment-dev`. */
  file?: string;
  /** The sequence number of the last audited write of this key, or null when none ever wrote it. */
  lastAuditedSeq: number | null;
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

/** Where an unaudited value came from: the dev server's own rules file, or outside containment. */
function sourceOf(
  ctx: OpsContext,
  key: string,
  value: Json | undefined,
  description: string | undefined,
): Pick<UnauditedChange, "source" | "file"> {
  const mark = parseDevRulesDescription(description);
  // Believed only against the local stand-in, and only for the value the mark's digest names.
  if (ctx.config.local === true && key === RULES_ITEM && mark !== undefined && value !== undefined)
    if (rulesetDigest(value) === mark.digest) return { source: "containment-dev", file: mark.file };
  return { source: "outside" };
}

/** A rules or kill-switch item: what the isolates' digest covers. */
const enforcedItem = (key: string): boolean => key === RULES_ITEM || key.startsWith(KILL_SWITCH_PREFIX);

interface AuditComparison {
  changes: UnauditedChange[];
  lastChangeAt: number | null;
}

async function compareWithAudit(ctx: OpsContext, snapshot: StoreSnapshot): Promise<AuditComparison> {
  const records = await readAudit(ctx.audit);
  const last = new Map<string, { after: string; seq: number }>();
  let lastChangeAt: number | null = null;
  for (const { entry } of records)
    if (entry.phase === "result" && entry.outcome === "ok" && entry.key !== null) {
      last.set(entry.key, { after: canonicalJson(entry.after), seq: entry.seq });
      if (enforcedItem(entry.key)) lastChangeAt = Math.max(lastChangeAt ?? 0, entry.redisTime);
    }
  const out: UnauditedChange[] = [];
  for (const [key, value] of snapshot.items) {
    if (!enforcedItem(key)) continue;
    const audited = last.get(key);
    if (audited?.after === canonicalJson(value)) continue;
    out.push({
      key,
      deleted: false,
      ...sourceOf(ctx, key, value, snapshot.descriptions.get(key)),
      lastAuditedSeq: audited?.seq ?? null,
    });
  }
  for (const [key, audited] of last)
    if (audited.after !== "null" && !snapshot.items.has(key) && key.startsWith(KILL_SWITCH_PREFIX))
      out.push({ key, deleted: true, source: "outside", lastAuditedSeq: audited.seq });
  return { changes: out.sort((a, b) => a.key.localeCompare(b.key)), lastChangeAt };
}

/** The ruleset digest of what Edge Config holds: the rules document and every kill-switch item. */
function liveRulesetDigest(items: ReadonlyMap<string, Json>): string | null {
  const document = items.get(RULES_ITEM);
  if (document === undefined) return null;
  const switches = [...items]
    .filter(([key]) => key.startsWith(KILL_SWITCH_PREFIX))
    .map(([key, spec]) => ({ key, spec }));
  return rulesetDigest(document, switches);
}

function agreement(live: string | null, regions: RegionStatus[] | null): boolean | null {
  if (live === null || regions === null || regions.length === 0) return null;
  return regions.every((region) => region.digests.length === 1 && region.digests[0] === live);
}

export async function readStatus(ctx: OpsContext): Promise<StatusSnapshot> {
  const problems: string[] = [];
  const now = ctx.now();
  const snapshot = await readStore(ctx);
  const digest = await part(problems, "store digest", async () => (await ctx.api.store()).digest);
  const live = liveRulesetDigest(snapshot.items);
  const reader = ctx.reader;
  if (reader === undefined)
    problems.push("no Redis configured: regions, counts, quarantines and drops are not shown");
  const minute = Math.floor(now / 60_000);
  const [regions, counts, quarantined, detections, rejectedPushes, drops, audited] = await Promise.all([
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
    ctx.redis ? part(problems, "audit comparison", () => compareWithAudit(ctx, snapshot)) : null,
  ]);
  const changes = audited?.changes ?? null;
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
    rulesetDigest: live,
    digestsAgree: agreement(live, regions),
    lastChangeAt: audited?.lastChangeAt ?? null,
    unaudited:
      changes === null
        ? null
        : changes
            .filter((change) => change.source === "outside")
            .map((change) => (change.deleted ? `${change.key} (deleted)` : change.key)),
    unauditedChanges: changes,
    problems,
  };
}
