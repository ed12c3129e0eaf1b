/**
 * Reads the mirror's keys (DESIGN.md "Redis layout") with read-only commands only: HGETALL, ZRANGE,
 * XREVRANGE, XLEN, GET, SCAN, PTTL, SMEMBERS, MGET. A dashboard holding the read-only credential
 * must work, so nothing here writes (no ZUNIONSTORE: the top lists are merged here instead).
 *
 * Everything is read in at most three pipelines (one `/pipeline` request each over Upstash REST)
 * under one deadline. A key of the wrong type or a failed command becomes a `problem`, never a throw.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { withDeadline } from "../core/deadline.js";

export interface MirrorReadOptions {
  prefix: string;
  now: number;
  /** Minutes of chart, newest last. */
  minutes: number;
  /** Minutes the top lists sum over. */
  topMinutes: number;
  events: number;
  timeoutMs: number;
}

export interface RawMirror {
  counts: Array<Record<string, string>>;
  top: Record<"tenant" | "user" | "ip", Array<Record<string, number>>>;
  isolates: Array<{ member: string; score: number; record?: string }>;
  enforcing: Record<string, string>;
  events: Array<{ id: string; fields: Record<string, string> }>;
  drops: number;
  quarantines: Array<{ key: string; pttl: number }>;
  incidents: Array<{ id: string; fields: Record<string, string> }>;
  audit: { length: number; head?: string; recent: Array<{ id: string; fields: Record<string, string> }> };
  problems: string[];
}

export const DIMENSIONS = ["tenant", "user", "ip"] as const;
/** Isolates not heard from for this long are no longer counted in their region. */
export const ISOLATE_FRESH_MS = 120_000;
const SCAN_ROUNDS = 5;
const MAX_INCIDENTS = 50;

/** Any reply as text: a client with automatic deserialization turns "5" into 5 and JSON into objects. */
export function text(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

function fieldsOf(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(value)) {
    for (let i = 0; i + 1 < value.length; i += 2) {
      const key = text(value[i]);
      const field = text(value[i + 1]);
      if (key !== undefined && field !== undefined) out[key] = field;
    }
  } else if (value && typeof value === "object") {
    for (const [key, field] of Object.entries(value)) {
      const t = text(field);
      if (t !== undefined) out[key] = t;
    }
  }
  return out;
}

/** Stream replies: `[[id, [f, v, …]], …]` raw, or `{id: {f: v}}` from a deserializing client. */
export function streamEntries(value: unknown): Array<{ id: string; fields: Record<string, string> }> {
  if (Array.isArray(value)) {
    return value.flatMap((entry) =>
      Array.isArray(entry) && typeof entry[0] === "string"
        ? [{ id: entry[0], fields: fieldsOf(entry[1]) }]
        : [],
    );
  }
  if (value && typeof value === "object")
    return Object.entries(value).map(([id, fields]) => ({ id, fields: fieldsOf(fields) }));
  return [];
}

/** ZRANGE … WITHSCORES as member → score, raw (`[m, s, …]`) or already paired. */
function scored(value: unknown): Array<{ member: string; score: number }> {
  if (!Array.isArray(value)) return [];
  const out: Array<{ member: string; score: number }> = [];
  for (let i = 0; i + 1 < value.length; i += 2) {
    const member = text(value[i]);
    const score = Number(text(value[i + 1]));
    if (member !== undefined && Number.isFinite(score)) out.push({ member, score });
  }
  return out;
}

type Reply = { result?: unknown; error?: string };

async function run(
  redis: Redis,
  build: (p: ReturnType<Redis["pipeline"]>) => void,
  timeoutMs: number,
  label: string,
): Promise<Reply[]> {
  const pipeline = redis.pipeline();
  build(pipeline);
  if (pipeline.length() === 0) return [];
  return (await withDeadline(pipeline.exec({ keepErrors: true }), timeoutMs, label)) as Reply[];
}

/** One read of everything the dashboard shows. Rejects only if Redis is unreachable or too slow. */
export async function readMirror(redis: Redis, options: MirrorReadOptions): Promise<RawMirror> {
  const key = (name: string) => options.prefix + name;
  const nowMinute = Math.floor(options.now / 60_000);
  const minutes = Array.from({ length: options.minutes }, (_, i) => nowMinute - options.minutes + 1 + i);
  const topMinutes = minutes.slice(-options.topMinutes);
  const problems: string[] = [];
  const deadline = options.timeoutMs;

  const first = await run(
    redis,
    (p) => {
      for (const m of minutes) p.hgetall(key(`counts:${m}`));
      for (const d of DIMENSIONS)
        for (const m of topMinutes) p.zrange(key(`top:${m}:${d}`), 0, 49, { rev: true, withScores: true });
      p.zrange(key("isolates"), options.now - ISOLATE_FRESH_MS, "+inf", { byScore: true, withScores: true });
      p.hgetall(key("enforcing"));
      p.xrevrange(key("events"), "+", "-", options.events);
      p.get(key("mirror:drops"));
      p.smembers(key("incidents"));
      p.xlen(key("audit"));
      p.get(key("audit:head"));
      p.xrevrange(key("audit"), "+", "-", 10);
      p.scan(0, { match: key("quarantine:*"), count: 500 });
    },
    deadline,
    "dashboard read",
  );
  let i = 0;
  const next = (what: string): unknown => {
    const reply = first[i++];
    if (reply?.error) problems.push(`${what}: ${reply.error.slice(0, 120)}`);
    return reply?.result;
  };
  const counts = minutes.map((m) => fieldsOf(next(`counts:${m}`)));
  const top = { tenant: [], user: [], ip: [] } as RawMirror["top"];
  for (const d of DIMENSIONS)
    for (const m of topMinutes) {
      const entries = scored(next(`top:${m}:${d}`));
      top[d].push(Object.fromEntries(entries.map((e) => [e.member, e.score])));
    }
  const isolateMembers = scored(next("isolates"));
  const enforcing = fieldsOf(next("enforcing"));
  const events = streamEntries(next("events"));
  const drops = Number(text(next("mirror:drops")) ?? 0) || 0;
  const incidentReply = next("incidents");
  const incidentIds = (Array.isArray(incidentReply) ? incidentReply : [])
    .map(text)
    .filter((id): id is string => id !== undefined)
    .slice(0, MAX_INCIDENTS);
  const auditLength = Number(text(next("audit")) ?? 0) || 0;
  const auditHead = text(next("audit:head"));
  const auditRecent = streamEntries(next("audit recent"));
  const scanReply = next("quarantine scan") as [unknown, unknown[]] | undefined;

  const quarantineKeys = await scanRest(redis, scanReply, key("quarantine:*"), deadline, problems);
  const second = await run(
    redis,
    (p) => {
      for (const k of quarantineKeys) p.pttl(k);
      for (const id of incidentIds) p.hgetall(key(`incident:${id}`));
      if (isolateMembers.length > 0) p.mget(...isolateMembers.map((m) => key(`isolate:${m.member}`)));
    },
    deadline,
    "dashboard read (details)",
  );
  let j = 0;
  const quarantines = quarantineKeys.map((k) => ({ key: k, pttl: Number(second[j++]?.result ?? -2) }));
  const incidents = incidentIds.map((id) => ({ id, fields: fieldsOf(second[j++]?.result) }));
  const records = isolateMembers.length > 0 ? (second[j++]?.result as unknown[] | undefined) : [];
  const isolates = isolateMembers.map((m, n) => {
    const record = text(records?.[n]);
    return record === undefined ? { ...m } : { ...m, record };
  });

  return {
    counts,
    top,
    isolates,
    enforcing,
    events,
    drops,
    quarantines: quarantines.filter((q) => q.pttl !== -2),
    incidents,
    audit: {
      length: auditLength,
      ...(auditHead === undefined ? {} : { head: auditHead }),
      recent: auditRecent,
    },
    problems,
  };
}

/** Follows a SCAN cursor a few rounds (bounded: a dashboard must answer even with 100k keys). */
async function scanRest(
  redis: Redis,
  firstReply: [unknown, unknown[]] | undefined,
  match: string,
  timeoutMs: number,
  problems: string[],
): Promise<string[]> {
  const keys = new Set<string>();
  let reply = firstReply;
  for (let round = 0; reply; round++) {
    for (const k of reply[1] ?? []) {
      const t = text(k);
      if (t !== undefined) keys.add(t);
    }
    const cursor = text(reply[0]) ?? "0";
    if (cursor === "0") break;
    if (round + 1 >= SCAN_ROUNDS) {
      problems.push("quarantines: more keys than one read covers; the list is incomplete");
      break;
    }
    reply = (await withDeadline(
      redis.scan(cursor, { match, count: 500 }),
      timeoutMs,
      "dashboard scan",
    )) as unknown as [unknown, unknown[]];
  }
  return [...keys].slice(0, 500);
}
