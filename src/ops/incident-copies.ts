/** Incident-scoped copies of the mirror's aggregates without expiry, confirmations, quarantines. See incidents.ts. */

import { QUARANTINE_KEYS } from "../rules/rate-limit/keys.js";
import { MIRROR_KEYS } from "../stores/mirror/layout.js";
import { type IncidentContext, incidentKeys, incidentWindow, readHash } from "./incident-records.js";
import type { Confirmation, QuarantineRecord } from "./report/model.js";

const MINUTE = 60_000;
const DIMENSIONS = ["tenant", "user", "ip"] as const;

/**
 * Copies the window's aggregates and events into the incident's keys without expiry. Idempotent;
 * returns how many keys it refreshed.
 */
export async function snapshotIncident(ctx: IncidentContext, id: string, until?: number): Promise<number> {
  const window = await incidentWindow(ctx, id);
  const to = Math.floor((until ?? window.until) / MINUTE);
  const from = Math.floor(window.since / MINUTE);
  const key = (name: string) => ctx.prefix + name;
  let copied = 0;
  const pairsToCopy: Array<[string, string]> = [];
  for (let minute = from; minute <= to; minute++) {
    pairsToCopy.push([MIRROR_KEYS.counts(minute), incidentKeys.counts(id, minute)]);
    pairsToCopy.push([MIRROR_KEYS.shapes(minute), incidentKeys.shapes(id, minute)]);
    pairsToCopy.push([MIRROR_KEYS.traffic(minute), incidentKeys.traffic(id, minute)]);
    for (const d of DIMENSIONS)
      pairsToCopy.push([MIRROR_KEYS.top(minute, d), incidentKeys.top(id, minute, d)]);
  }
  // Issued together, a chunk shares one round trip (one REST pipeline; back to back over TCP).
  const chunkSize = 250;
  for (let i = 0; i < pairsToCopy.length; i += chunkSize) {
    const chunk = pairsToCopy.slice(i, i + chunkSize);
    const replies = await Promise.all(
      chunk.flatMap(([source, target]) => [
        ctx.client.copy(key(source), key(target)),
        ctx.client.persist(key(target)),
      ]),
    );
    for (let j = 0; j < replies.length; j += 2) if (replies[j]) copied++;
  }
  copied += await copyEvents(ctx, id, window.since, (to + 1) * MINUTE - 1);
  copied += await copyQuarantines(ctx, id);
  return copied;
}

async function copyEvents(ctx: IncidentContext, id: string, since: number, until: number): Promise<number> {
  const target = ctx.prefix + incidentKeys.events(id);
  const [last] = await ctx.client.xrevrange(target, "+", "-", 1);
  let start = last ? `(${last[0]}` : String(since);
  let copied = 0;
  for (let round = 0; round < 200; round++) {
    const batch = await ctx.client.xrange(ctx.prefix + MIRROR_KEYS.events, start, String(until), 500);
    if (batch.length === 0) break;
    for (const [streamId, fields] of batch) {
      if (fields.length > 0) await ctx.client.xadd(target, streamId, fields);
      start = `(${streamId}`;
      copied++;
    }
    if (batch.length < 500) break;
  }
  return copied;
}

async function copyQuarantines(ctx: IncidentContext, id: string): Promise<number> {
  const now = (ctx.now ?? Date.now)();
  let cursor = "0";
  let copied = 0;
  for (let round = 0; round < 100; round++) {
    const [next, keys] = await ctx.client.scan(cursor, ctx.prefix + QUARANTINE_KEYS, 500);
    cursor = next;
    for (const full of keys) {
      const relative = full.slice(ctx.prefix.length + "quarantine:".length);
      const ttl = await ctx.client.pttl(full);
      const stored = parseRecord(await ctx.client.get(full));
      const firstSeen = typeof stored.at === "number" ? stored.at : now;
      const until = typeof stored.until === "number" ? stored.until : ttl > 0 ? now + ttl : undefined;
      const rule = typeof stored.rule === "string" ? stored.rule : undefined;
      const record = JSON.stringify({
        firstSeen,
        ...(until === undefined ? {} : { until }),
        ...(rule ? { rule } : {}),
      });
      if (await ctx.client.hsetnx(ctx.prefix + incidentKeys.quarantines(id), relative, record)) copied++;
    }
    if (cursor === "0") break;
  }
  return copied;
}

/** A quarantine key's JSON evidence (`{rule, scope, dimension, at, until}`), or nothing when set by hand. */
function parseRecord(value: unknown): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(String(value));
    return parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Records a region's confirmation of a change (from `--wait`); the first time per region is kept. */
export async function recordConfirmation(ctx: IncidentContext, id: string, c: Confirmation): Promise<void> {
  const field = `${c.switchId}@${c.version}|${c.state}|${c.region}`;
  await ctx.client.hsetnx(
    ctx.prefix + incidentKeys.confirmations(id),
    field,
    JSON.stringify({ at: c.at, isolates: c.isolates ?? 0 }),
  );
}

export async function readConfirmations(ctx: IncidentContext, id: string): Promise<Confirmation[]> {
  const out: Confirmation[] = [];
  for (const [field, value] of Object.entries(await readHash(ctx, incidentKeys.confirmations(id)))) {
    const [switchAt = "", state = "", region = ""] = field.split("|");
    const cut = switchAt.lastIndexOf("@");
    const parsed = JSON.parse(value) as { at: number; isolates?: number };
    out.push({
      switchId: switchAt.slice(0, cut),
      version: Number(switchAt.slice(cut + 1)) || 0,
      state: state === "absent" ? "absent" : "present",
      region,
      at: parsed.at,
      ...(parsed.isolates ? { isolates: parsed.isolates } : {}),
    });
  }
  return out.sort((a, b) => a.at - b.at || a.region.localeCompare(b.region));
}

export async function readIncidentQuarantines(ctx: IncidentContext, id: string): Promise<QuarantineRecord[]> {
  const out: QuarantineRecord[] = [];
  for (const [field, value] of Object.entries(await readHash(ctx, incidentKeys.quarantines(id)))) {
    const [dimension = "", qid = "", ...rule] = field.split(":");
    const parsed = JSON.parse(value) as { firstSeen: number; until?: number; rule?: string };
    out.push({
      dimension,
      id: qid,
      firstSeen: parsed.firstSeen,
      ...(parsed.until === undefined ? {} : { until: parsed.until }),
      ...((parsed.rule ?? rule.join(":")) ? { rule: parsed.rule ?? rule.join(":") } : {}),
    });
  }
  return out;
}
