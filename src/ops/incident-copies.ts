/** Incident-scoped copies of the mirror's aggregates without expiry, confirmations, quarantines. See incidents.ts. */

import { QUARANTINE_KEYS } from "../rules/rate-limit/keys.js";
import { MIRROR_KEYS } from "../stores/mirror/layout.js";
import {
  type IncidentContext,
  incidentKeys,
  incidentWindow,
  pairs,
  type Run,
  runner,
} from "./incident-records.js";
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
  const { run, key } = runner(ctx);
  let copied = 0;
  const pairsToCopy: Array<[string, string]> = [];
  for (let minute = from; minute <= to; minute++) {
    pairsToCopy.push([MIRROR_KEYS.counts(minute), incidentKeys.counts(id, minute)]);
    pairsToCopy.push([MIRROR_KEYS.traffic(minute), incidentKeys.traffic(id, minute)]);
    for (const d of DIMENSIONS)
      pairsToCopy.push([MIRROR_KEYS.top(minute, d), incidentKeys.top(id, minute, d)]);
  }
  const pipeSize = 250;
  for (let i = 0; i < pairsToCopy.length; i += pipeSize) {
    const pipeline = ctx.client.pipeline();
    const chunk = pairsToCopy.slice(i, i + pipeSize);
    for (const [source, target] of chunk) {
      pipeline.copy(key(source), key(target), { replace: true });
      pipeline.persist(key(target));
    }
    const replies = (await pipeline.exec()) as unknown[];
    for (let j = 0; j < replies.length; j += 2) if (replies[j] === "COPIED" || replies[j] === 1) copied++;
  }
  copied += await copyEvents(run, key, id, window.since, (to + 1) * MINUTE - 1);
  copied += await copyQuarantines(ctx, id);
  return copied;
}

async function copyEvents(
  run: Run,
  key: (n: string) => string,
  id: string,
  since: number,
  until: number,
): Promise<number> {
  const target = key(incidentKeys.events(id));
  const last = (await run<unknown[]>("XREVRANGE", target, "+", "-", "COUNT", 1)) ?? [];
  const lastId = Array.isArray(last[0]) ? String(last[0][0]) : undefined;
  let start = lastId ? `(${lastId}` : String(since);
  let copied = 0;
  for (let round = 0; round < 200; round++) {
    const batch =
      (await run<unknown[]>("XRANGE", key(MIRROR_KEYS.events), start, String(until), "COUNT", 500)) ?? [];
    if (batch.length === 0) break;
    for (const entry of batch) {
      if (!Array.isArray(entry)) continue;
      const streamId = String(entry[0]);
      const fields = Array.isArray(entry[1]) ? entry[1].map(String) : [];
      if (fields.length > 0) await run("XADD", target, streamId, ...fields);
      start = `(${streamId}`;
      copied++;
    }
    if (batch.length < 500) break;
  }
  return copied;
}

async function copyQuarantines(ctx: IncidentContext, id: string): Promise<number> {
  const { run, key } = runner(ctx);
  const now = (ctx.now ?? Date.now)();
  let cursor = "0";
  let copied = 0;
  for (let round = 0; round < 100; round++) {
    const reply = (await run<unknown[]>("SCAN", cursor, "MATCH", key(QUARANTINE_KEYS), "COUNT", 500)) ?? [];
    cursor = String(reply[0] ?? "0");
    for (const full of (Array.isArray(reply[1]) ? reply[1] : []).map(String)) {
      const relative = full.slice(ctx.prefix.length + "quarantine:".length);
      const ttl = Number(await run("PTTL", full));
      const stored = parseRecord(await run("GET", full));
      const firstSeen = typeof stored.at === "number" ? stored.at : now;
      const until = typeof stored.until === "number" ? stored.until : ttl > 0 ? now + ttl : undefined;
      const rule = typeof stored.rule === "string" ? stored.rule : undefined;
      const record = JSON.stringify({
        firstSeen,
        ...(until === undefined ? {} : { until }),
        ...(rule ? { rule } : {}),
      });
      copied += Number(await run("HSETNX", key(incidentKeys.quarantines(id)), relative, record));
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
  const { run, key } = runner(ctx);
  const field = `${c.switchId}@${c.version}|${c.state}|${c.region}`;
  await run(
    "HSETNX",
    key(incidentKeys.confirmations(id)),
    field,
    JSON.stringify({ at: c.at, isolates: c.isolates ?? 0 }),
  );
}

export async function readConfirmations(ctx: IncidentContext, id: string): Promise<Confirmation[]> {
  const { run, key } = runner(ctx);
  const out: Confirmation[] = [];
  for (const [field, value] of Object.entries(
    pairs(await run("HGETALL", key(incidentKeys.confirmations(id)))),
  )) {
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
  const { run, key } = runner(ctx);
  const out: QuarantineRecord[] = [];
  for (const [field, value] of Object.entries(
    pairs(await run("HGETALL", key(incidentKeys.quarantines(id)))),
  )) {
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
