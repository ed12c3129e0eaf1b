/** Incident-scoped copies of the mirror's aggregates without expiry (append-only versions), confirmations, quarantines. See incidents.ts. */

import { QUARANTINE_KEYS } from "../rules/rate-limit/keys.js";
import { MIRROR_KEYS } from "../stores/mirror/layout.js";
import { type IncidentContext, incidentKeys, incidentWindow, readHash } from "./incident-records.js";
import {
  COPY_KINDS,
  type CopyKind,
  type CopyVersion,
  contentHash,
  type MinuteContent,
  mergeKey,
  type TamperFinding,
} from "./incident-versions.js";
import type { Confirmation, QuarantineRecord } from "./report/model.js";

const MINUTE = 60_000;
/** Minutes refreshed per round trip: their 500 reads issued together (one REST pipeline), as the copy did before. */
const CHUNK_MINUTES = 50;
const THROUGH_FIELD = "~through";
/** Raises sorted-set members of a copy: ARGV score, member pairs. */
const RAISE_ZSET = "for i = 1, #ARGV, 2 do redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1]) end return 1";

export interface SnapshotResult {
  /** Copy fields added or raised, events and quarantines copied. */
  copied: number;
  /** The version this refresh wrote, when it changed the copy or found tampering. */
  version?: CopyVersion;
  /** Tampering findings of this refresh that had not been recorded before. */
  findings: TamperFinding[];
}

export interface SnapshotOptions {
  /** Enters a new version's content hash in the audit chain (the CLI's appendAudit). */
  onVersion?: ((version: CopyVersion, incident: string) => Promise<void>) | undefined;
}

/**
 * Refreshes the incident's copy of the window's aggregates, events and quarantines (no expiry).
 * The aggregates follow incident-versions.ts: the copy only grows, and only within the retry
 * horizon; what the live keys contradict is kept as a tampering finding, never copied. A refresh
 * that changed something writes the next version and hands it to `onVersion`.
 */
export async function snapshotIncident(
  ctx: IncidentContext,
  id: string,
  until?: number,
  options: SnapshotOptions = {},
): Promise<SnapshotResult> {
  const window = await incidentWindow(ctx, id);
  const now = (ctx.now ?? Date.now)();
  const to = Math.floor((until ?? window.until) / MINUTE);
  const from = Math.floor(window.since / MINUTE);
  const versionsKey = ctx.prefix + incidentKeys.versions(id);
  const versions = await readVersions(ctx, id);
  const last = versions.at(-1);
  const through = Number((await ctx.client.hgetall(versionsKey))?.[THROUGH_FIELD] ?? Number.NaN);
  const covered = (minute: number) => Number.isFinite(through) && minute <= through;

  const content = new Map<number, MinuteContent>();
  const found: TamperFinding[] = [];
  let added = 0;
  for (let start = from; start <= to; start += CHUNK_MINUTES) {
    const minutes = Array.from({ length: Math.min(CHUNK_MINUTES, to - start + 1) }, (_, i) => start + i);
    const pairs = minutes.flatMap((minute) => COPY_KINDS.map((kind) => ({ minute, kind })));
    const read = await Promise.all(
      pairs.map(({ minute, kind }) =>
        Promise.all([
          readKind(ctx, liveKey(minute, kind), kind),
          readKind(ctx, copyKey(id, minute, kind), kind),
        ]),
      ),
    );
    const writes: Array<Promise<unknown>> = [];
    pairs.forEach(({ minute, kind }, index) => {
      const [live, copy] = read[index] as [Record<string, number> | null, Record<string, number> | null];
      const merged = mergeKey(copy ?? {}, live, { minute, kind, covered: covered(minute), now });
      found.push(...merged.findings);
      const fields = Object.entries(merged.writes);
      const result = { ...(copy ?? {}), ...merged.writes };
      if (Object.keys(result).length > 0) content.set(minute, { ...content.get(minute), [kind]: result });
      if (fields.length === 0) return;
      added += fields.length;
      const target = ctx.prefix + copyKey(id, minute, kind);
      writes.push(
        kind.startsWith("top:")
          ? ctx.client.eval(
              RAISE_ZSET,
              [target],
              fields.flatMap(([field, n]) => [String(n), field]),
            )
          : ctx.client.hset(target, Object.fromEntries(fields.map(([field, n]) => [field, String(n)]))),
      );
    });
    await Promise.all(writes);
  }
  const findings = await recordFindings(ctx, id, found);
  if (!covered(to)) await ctx.client.hset(versionsKey, { [THROUGH_FIELD]: String(to) });

  let version: CopyVersion | undefined;
  if (last === undefined || added > 0 || findings.length > 0) {
    const candidate: CopyVersion = {
      n: (last?.n ?? 0) + 1,
      at: now,
      hash: await contentHash(content),
      through: to,
      added,
      findings: findings.length,
    };
    // A concurrent refresh that took the same number first wins; this one's changes are in its copy.
    if (await ctx.client.hsetnx(versionsKey, String(candidate.n), JSON.stringify(candidate))) {
      version = candidate;
      await options.onVersion?.(candidate, id);
    }
  }
  let copied = added;
  copied += await copyEvents(ctx, id, window.since, (to + 1) * MINUTE - 1);
  copied += await copyQuarantines(ctx, id);
  return { copied, findings, ...(version ? { version } : {}) };
}

function liveKey(minute: number, kind: CopyKind): string {
  return kind.startsWith("top:")
    ? MIRROR_KEYS.top(minute, kind.slice(4))
    : MIRROR_KEYS[kind as "counts"](minute);
}

function copyKey(id: string, minute: number, kind: CopyKind): string {
  return kind.startsWith("top:")
    ? incidentKeys.top(id, minute, kind.slice(4))
    : incidentKeys[kind as "counts"](id, minute);
}

/** A hash or sorted set as field → number; null when the key does not exist. */
async function readKind(
  ctx: IncidentContext,
  name: string,
  kind: CopyKind,
): Promise<Record<string, number> | null> {
  const key = ctx.prefix + name;
  if (kind.startsWith("top:")) {
    const members = await ctx.client.zrangeWithScores(key, 0, -1);
    return members.length === 0 ? null : Object.fromEntries(members);
  }
  const hash = await ctx.client.hgetall(key);
  if (hash === null || Object.keys(hash).length === 0) return null;
  return Object.fromEntries(
    Object.entries(hash)
      .map(([field, value]) => [field, Number(value)] as const)
      .filter(([, n]) => Number.isFinite(n)),
  );
}

/** Keeps each finding the first time it is seen; returns the ones not recorded before. */
async function recordFindings(ctx: IncidentContext, id: string, found: TamperFinding[]) {
  const key = ctx.prefix + incidentKeys.tampering(id);
  const fresh = await Promise.all(
    found.map((f) =>
      ctx.client.hsetnx(key, `${f.kind}|${f.minute}|${f.reason}|${f.field}`, JSON.stringify(f)),
    ),
  );
  return found.filter((_, index) => fresh[index]);
}

/** The copy's versions, oldest first. */
export async function readVersions(ctx: IncidentContext, id: string): Promise<CopyVersion[]> {
  const hash = await readHash(ctx, incidentKeys.versions(id));
  return Object.entries(hash)
    .filter(([field]) => field !== THROUGH_FIELD)
    .map(([, value]) => JSON.parse(value) as CopyVersion)
    .sort((a, b) => a.n - b.n);
}

/** Every tampering finding recorded for the incident, by minute. */
export async function readTampering(ctx: IncidentContext, id: string): Promise<TamperFinding[]> {
  const hash = await readHash(ctx, incidentKeys.tampering(id));
  return Object.values(hash)
    .map((value) => JSON.parse(value) as TamperFinding)
    .sort((a, b) => a.minute - b.minute || a.kind.localeCompare(b.kind) || a.field.localeCompare(b.field));
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
