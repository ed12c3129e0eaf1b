/**
 * The read side of every mirror key (layout in `layout.ts`): what the CLI, the
 * dashboard and the incident report show. Over any ResponderRedis (model/responder-redis.ts): with
 * the REST client it runs wherever `fetch` runs, so a mounted dashboard can use it at the edge.
 *
 * Everything returned is already privacy-shaped at write time (pseudonyms, networks, redacted
 * routes); the reader adds no identity. Enforcement reports are verified with the deployment's
 * `CONTAINMENT_REPORT_SECRET`: only `trust: "verified"` may count as a confirmation.
 *
 * @example
 * const reader = mirrorReader({ client: restRedis({ url, token }), reportSecret: env.CONTAINMENT_REPORT_SECRET });
 * const minute = Math.floor(Date.now() / 60_000);
 * const counts = await reader.counts({ from: minute - 15, to: minute });
 * const isolates = await reader.isolates({ sinceMs: Date.now() - 60_000 });
 */
import { DEFAULT_REDIS_PREFIX } from "../../model/defaults.js";
import type { ResponderRedis, StreamEntry } from "../../model/responder-redis.js";
import { QUARANTINE_KEYS } from "../../rules/rate-limit/keys.js";
import { parseReport, verifyReport } from "./isolate-report.js";
import { MIRROR_KEYS, parseIsolateMember, type TopDimension, TRAFFIC_OVERFLOW } from "./layout.js";
import type {
  CountRow,
  Drops,
  EventQuery,
  IsolateLedger,
  IsolateRecord,
  MinuteRange,
  MirrorEvent,
  MirrorReaderOptions,
  QuarantineRecord,
  RejectedPush,
  TopEntry,
  TrafficMinutes,
  TrafficRow,
} from "./reader-types.js";
import { type ShapeRow, shapeRowsOf } from "./shape-rows.js";

export const MAX_MINUTES = 24 * 60;
const MAX_EVENTS = 10_000;

/** Values as text whatever the client did to them. */
function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function pairs(flat: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string]);
  return out;
}

const fields = (hash: Record<string, string> | null): Array<[string, string]> => Object.entries(hash ?? {});

function minutes(range: MinuteRange): number[] {
  const from = Math.floor(range.from);
  const to = Math.floor(range.to);
  if (!Number.isFinite(from) || !Number.isFinite(to) || to < from) return [];
  if (to - from + 1 > MAX_MINUTES)
    throw new RangeError(
      `edge-containment: read at most ${MAX_MINUTES} minutes at once (asked ${to - from + 1})`,
    );
  const out: number[] = [];
  for (let m = from; m <= to; m++) out.push(m);
  return out;
}

export interface MirrorReader {
  counts(range: MinuteRange): Promise<CountRow[]>;
  traffic(range: MinuteRange): Promise<TrafficMinutes>;
  /** Every decision by route shape (format 2), or by rule pattern for minutes before it (format 1). */
  shapes(range: MinuteRange): Promise<ShapeRow[]>;
  top(range: MinuteRange, dimension: TopDimension, limit?: number): Promise<TopEntry[]>;
  events(query?: EventQuery): Promise<MirrorEvent[]>;
  isolates(query?: { sinceMs?: number }): Promise<IsolateRecord[]>;
  ledger(): Promise<IsolateLedger[]>;
  quarantines(limit?: number): Promise<QuarantineRecord[]>;
  drops(): Promise<Drops>;
  rejectedPushes(query?: EventQuery): Promise<RejectedPush[]>;
}

export function mirrorReader(options: MirrorReaderOptions): MirrorReader {
  const prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
  const key = (name: string): string => prefix + name;
  const run: Run = options.client;

  return {
    counts: (range) => readCounts(run, key, range),
    traffic: (range) => readTraffic(run, key, range),
    shapes: (range) => readShapes(run, key, range),
    top: (range, dimension, limit = 20) => readTop(run, key, range, dimension, limit),
    events: (query = {}) => readEvents(run, key, query),
    isolates: (query = {}) => readIsolates(run, key, options.reportSecret, query),
    ledger: () => readLedger(run, key),
    quarantines: (limit = 1_000) => readQuarantines(run, key, prefix, limit),
    drops: async () => {
      const [decisions, events, shapes] = await Promise.all([
        run.get(key(MIRROR_KEYS.drops)),
        run.get(key(MIRROR_KEYS.eventDrops)),
        run.get(key(MIRROR_KEYS.shapeDrops)),
      ]);
      return {
        decisions: Number(text(decisions)) || 0,
        events: Number(text(events)) || 0,
        shapes: Number(text(shapes)) || 0,
      };
    },
    rejectedPushes: async (query = {}) => {
      const events = await readEvents(run, key, { limit: 1_000, ...query });
      return events
        .filter((event) => event.fields.kind === "source")
        .map((event) => ({
          at: event.first,
          region: event.fields.region ?? "",
          event: event.fields.outcome ?? "",
          message: event.fields.reason ?? "",
          ...(event.fields.digest ? { digest: event.fields.digest } : {}),
        }));
    },
  };
}

/** The client every read below goes through (its commands: model/responder-redis.ts). */
type Run = ResponderRedis;
type Key = (name: string) => string;

async function readCounts(run: Run, key: Key, range: MinuteRange): Promise<CountRow[]> {
  const list = minutes(range);
  const replies = await Promise.all(list.map((m) => run.hgetall(key(MIRROR_KEYS.counts(m)))));
  const rows: CountRow[] = [];
  replies.forEach((reply, index) => {
    for (const [field, n] of fields(reply)) {
      const bar = field.lastIndexOf("|");
      rows.push({
        minute: list[index] as number,
        rule: field.slice(0, Math.max(0, bar)),
        outcome: field.slice(bar + 1),
        n: Number(n) || 0,
      });
    }
  });
  return rows;
}

async function readShapes(run: Run, key: Key, range: MinuteRange): Promise<ShapeRow[]> {
  const list = minutes(range);
  const replies = await Promise.all(
    list.map((m) =>
      Promise.all([run.hgetall(key(MIRROR_KEYS.shapes(m))), run.hgetall(key(MIRROR_KEYS.traffic(m)))]),
    ),
  );
  return replies.flatMap(([shapes, traffic], index) =>
    shapeRowsOf(list[index] as number, numbers(shapes), numbers(traffic)),
  );
}

function numbers(hash: Record<string, string> | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [field, n] of fields(hash)) out[field] = Number(n) || 0;
  return out;
}

async function readTraffic(run: Run, key: Key, range: MinuteRange): Promise<TrafficMinutes> {
  const list = minutes(range);
  const replies = await Promise.all(list.map((m) => run.hgetall(key(MIRROR_KEYS.traffic(m)))));
  const rows: TrafficRow[] = [];
  const overflow: Record<number, number> = {};
  replies.forEach((reply, index) => {
    const minute = list[index] as number;
    for (const [field, n] of fields(reply)) {
      if (field === TRAFFIC_OVERFLOW) {
        overflow[minute] = Number(n) || 0;
        continue;
      }
      const [route = "", method = "", tenant = "", outcome = ""] = field.split("|");
      rows.push({ minute, route, method, tenant, outcome, n: Number(n) || 0 });
    }
  });
  return { rows, overflow };
}

async function readTop(
  run: Run,
  key: Key,
  range: MinuteRange,
  dimension: TopDimension,
  limit: number,
): Promise<TopEntry[]> {
  const list = minutes(range);
  const replies = await Promise.all(
    list.map((m) => run.zrangeWithScores(key(MIRROR_KEYS.top(m, dimension)), 0, -1)),
  );
  const totals = new Map<string, number>();
  for (const reply of replies)
    for (const [member, n] of reply) totals.set(member, (totals.get(member) ?? 0) + (Number(n) || 0));
  return [...totals]
    .map(([member, n]) => ({ member, n }))
    .sort((a, b) => b.n - a.n || (a.member < b.member ? -1 : 1))
    .slice(0, Math.max(0, limit));
}

function toEvent([streamId, flat]: StreamEntry): MirrorEvent {
  const fields = Object.fromEntries(pairs(flat));
  const aggregate = fields.agg === "1";
  const ts = Number(fields.ts) || Number(streamId.split("-")[0]) || 0;
  const count = aggregate ? Math.max(1, Number(fields.count) || 1) : 1;
  const first = aggregate ? Number(fields.first) || ts : ts;
  const last = aggregate ? Number(fields.last) || ts : ts;
  return { streamId, count, aggregate, first, last, fields };
}

async function readEvents(run: Run, key: Key, query: EventQuery): Promise<MirrorEvent[]> {
  const limit = Math.min(MAX_EVENTS, Math.max(1, Math.floor(query.limit ?? 100)));
  const start = query.sinceMs === undefined ? "-" : String(Math.floor(query.sinceMs));
  const end = query.untilMs === undefined ? "+" : String(Math.floor(query.untilMs));
  const reply = query.ascending
    ? await run.xrange(key(MIRROR_KEYS.events), start, end, limit)
    : await run.xrevrange(key(MIRROR_KEYS.events), end, start, limit);
  return reply.map(toEvent);
}

async function readIsolates(
  run: Run,
  key: Key,
  secret: string | undefined,
  query: { sinceMs?: number },
): Promise<IsolateRecord[]> {
  const min = query.sinceMs === undefined ? "-inf" : String(query.sinceMs);
  const listed = await run.zrangeWithScores(key(MIRROR_KEYS.isolates), min, "+inf", { byScore: true });
  if (listed.length === 0) return [];
  const stored = await run.mget(listed.map(([member]) => key(MIRROR_KEYS.isolate(member))));
  return Promise.all(
    listed.map(async ([member, score], index): Promise<IsolateRecord> => {
      const { region, isolate } = parseIsolateMember(member);
      const base = { member, region, isolate, at: Number(score) || 0 };
      const raw = stored[index];
      if (raw === null || raw === undefined || raw === "") return { ...base, trust: "expired" };
      const report = parseReport(raw);
      if (!report || report.region !== region || report.isolate !== isolate)
        return { ...base, trust: "malformed" };
      return { ...base, report, trust: await verifyReport(report, secret) };
    }),
  );
}

async function readLedger(run: Run, key: Key): Promise<IsolateLedger[]> {
  const [seq, accounted, contact, reported] = await Promise.all([
    run.hgetall(key(MIRROR_KEYS.seq)),
    run.hgetall(key(MIRROR_KEYS.accounted)),
    run.hgetall(key(MIRROR_KEYS.contact)),
    run.zrangeWithScores(key(MIRROR_KEYS.isolates), 0, -1),
  ]);
  const accountedOf = new Map(fields(accounted));
  // The edge writes contact only through its reports' scores; the hash is kept for older writers.
  const contactOf = new Map<string, string | number>([...reported, ...fields(contact)]);
  return fields(seq)
    .map(([member, value]) => {
      const s = Number(value) || 0;
      const a = Number(accountedOf.get(member)) || 0;
      return {
        member,
        ...parseIsolateMember(member),
        seq: s,
        accounted: a,
        gap: Math.max(0, s - a),
        lastContact: Number(contactOf.get(member)) || 0,
      };
    })
    .sort((a, b) => b.gap - a.gap || (a.member < b.member ? -1 : 1));
}

function parseQuarantineKey(relative: string): Pick<QuarantineRecord, "dimension" | "id" | "rule"> {
  // quarantine:<dimension>:<id>[:<rule>]
  const [, dimension = "", id = "", ...rule] = relative.split(":");
  return rule.length > 0 ? { dimension, id, rule: rule.join(":") } : { dimension, id };
}

async function readQuarantines(
  run: Run,
  key: Key,
  prefix: string,
  limit: number,
): Promise<QuarantineRecord[]> {
  const found: string[] = [];
  let cursor = "0";
  // SCAN is bounded: a few hundred round trips at most, then what was found so far.
  for (let round = 0; round < 500 && found.length < limit; round++) {
    const [next, keys] = await run.scan(cursor, key(QUARANTINE_KEYS), 500);
    cursor = next;
    for (const k of keys) if (found.length < limit) found.push(k);
    if (cursor === "0") break;
  }
  return Promise.all(
    found.map(async (full): Promise<QuarantineRecord> => {
      const [value, ttl] = await Promise.all([run.get(full), run.pttl(full)]);
      const raw = text(value);
      let record: Record<string, unknown> | string = raw;
      try {
        const parsed: unknown = JSON.parse(raw);
        if (parsed !== null && typeof parsed === "object") record = parsed as Record<string, unknown>;
      } catch {
        // Set by hand: shown as text.
      }
      return {
        key: full.slice(prefix.length),
        ...parseQuarantineKey(full.slice(prefix.length)),
        ttlMs: Number(ttl),
        record,
      };
    }),
  );
}
