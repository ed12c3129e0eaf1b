/**
 * What an isolate holds between flushes, all bounded, all exact where it matters:
 *
 * - `counts` (rule|outcome) and `shapes` (host|shape|method|tenant|outcome) per minute, for EVERY
 *   decision; counts beyond the table's cap become `mirror:drops` (never silently). Shapes have two
 *   capacities a minute (docs/recorded-format.md): reserved shapes (a refusing rule matches them)
 *   beyond theirs go to `~overflow-reserved` (and `mirror:drops:shapes`), other shapes beyond theirs
 *   fold into `~other`, so the shapes of a minute always add up to its decisions.
 * - `events`: non-allow decisions and sampled allows, up to `bufferSize`. When the buffer is full
 *   (a Redis outage at 1,000 req/s fills 2,000 in two seconds) a decision is folded into an
 *   aggregate instead: rule, kind, outcome, status, route, method, tenant, network, region, minute
 *   → count, first, last. Only past the aggregate table's cap is an event dropped (counted in
 *   `mirror:drops:events`; the decision is still in `counts`).
 * - `top`: blocked identities per minute (a summary; best effort under its cap).
 *
 * It also knows how soon what it holds must reach Redis (`urgency`, docs/recorded-format.md, when
 * evidence goes out): blocks at once, decisions on reserved shapes and the rules source's problems
 * within the evidence interval, everything else on the quiet cadence.
 */
import { truncateIp } from "../../core/identity.js";
import { type Decision, isBlocked } from "../../model/decision.js";
import { countField, minuteOf, type SourceEvent, topIdentities } from "./event-fields.js";
import { ANY_HOST, SHAPE_OTHER, SHAPE_OVERFLOW_RESERVED, shapeField, UNDECLARED_TENANT } from "./layout.js";
import { NO_SHAPE_SCOPE, type ShapeScope } from "./shape-scope.js";

export type Buffered = Decision | SourceEvent;

/** How soon held work must go out: on the quiet cadence, within the evidence interval, at once. */
export const URGENCY = { quiet: 0, evidence: 1, atOnce: 2 } as const;
export type Urgency = (typeof URGENCY)[keyof typeof URGENCY];

export interface QueuedEvent {
  readonly item: Buffered;
  /** The decision's sequence number in this isolate (0 for source events). */
  readonly seq: number;
}

/** Several decisions written as one `events` entry. */
export interface Aggregate {
  readonly fields: Readonly<Record<string, string>>;
  count: number;
  first: number;
  last: number;
}

export type MinuteTable = Map<number, Map<string, number>>;

/** What one batch takes out of the accumulator. */
export interface Taken {
  events: QueuedEvent[];
  aggregates: Map<string, Aggregate>;
  counts: MinuteTable;
  shapes: MinuteTable;
  top: Map<string, number>;
  decisionDrops: number;
  /** Decisions of reserved shapes counted in `~overflow-reserved`. */
  shapeDrops: number;
  eventDrops: number;
}

export interface AccumulatorLimits {
  bufferSize: number;
  /** Distinct (minute, field) entries of counts; and, separately, of aggregates and of top. */
  tableSize: number;
  /** Distinct fields a minute of shapes a refusing rule matches. */
  reservedShapes: number;
  /** Distinct fields a minute of every other shape. */
  generalShapes: number;
}

/** Distinct folded fields (`~other`, `~overflow-reserved`) a minute before method and tenant fold too. */
const FOLDED_CAP = 256;

interface MinuteNames {
  reserved: Set<string>;
  general: Set<string>;
  folded: Set<string>;
}

export function isSource(item: Buffered): item is SourceEvent {
  return "source" in item;
}

/** The aggregate a decision folds into, and the fields that entry carries. */
export function aggregateOf(decision: Decision): { key: string; fields: Record<string, string> } {
  const fields: Record<string, string> = { agg: "1", outcome: decision.outcome, region: decision.region };
  const put = (name: string, value: string | number | undefined): void => {
    if (value !== undefined && value !== "") fields[name] = String(value);
  };
  put("rule", decision.rule);
  put("kind", decision.kind);
  if ("status" in decision) put("status", decision.status);
  put("method", decision.method);
  put("route", decision.route ?? decision.path);
  put("tenant", decision.tenant);
  put("ip", truncateIp(decision.ip));
  put("digest", decision.rulesetDigest);
  const key = `${minuteOf(decision.at)}\u0000${JSON.stringify(fields)}`;
  return { key, fields };
}

export function addTo(table: MinuteTable, minute: number, field: string, n: number): void {
  let fields = table.get(minute);
  if (!fields) {
    fields = new Map();
    table.set(minute, fields);
  }
  fields.set(field, (fields.get(field) ?? 0) + n);
}

export class MirrorAccumulator {
  readonly #limits: AccumulatorLimits;
  #taken: Taken = MirrorAccumulator.#empty();
  #countEntries = 0;
  /**
   * Shape fields this isolate has named per minute, across flushes: the caps are per minute, so a
   * minute flushed sixty times still names at most its capacity. Minutes older than the newest two
   * are forgotten (their fields can no longer grow).
   */
  readonly #shapeNames = new Map<number, MinuteNames>();
  #scope: ShapeScope = NO_SHAPE_SCOPE;
  #urgency: Urgency = URGENCY.quiet;
  /** Whether the shape just counted is reserved (set by #shapeFieldOf). */
  #reservedShape = false;

  constructor(limits: AccumulatorLimits) {
    this.#limits = limits;
  }

  static #empty(): Taken {
    return {
      events: [],
      aggregates: new Map(),
      counts: new Map(),
      shapes: new Map(),
      top: new Map(),
      decisionDrops: 0,
      shapeDrops: 0,
      eventDrops: 0,
    };
  }

  /** How soon what is held must go out. */
  get urgency(): Urgency {
    return this.#urgency;
  }

  /** Held work is at least this urgent (a refused command given back, a source problem). */
  raise(urgency: Urgency): void {
    if (urgency > this.#urgency) this.#urgency = urgency;
  }

  get buffered(): number {
    return this.#taken.events.length;
  }

  hasWork(): boolean {
    const t = this.#taken;
    return (
      t.events.length > 0 ||
      t.aggregates.size > 0 ||
      this.#countEntries > 0 ||
      t.shapes.size > 0 ||
      t.top.size > 0 ||
      t.decisionDrops > 0 ||
      t.shapeDrops > 0 ||
      t.eventDrops > 0
    );
  }

  /** Counts one decision everywhere it is counted; false when it could not be (it is then a drop). */
  count(decision: Decision): boolean {
    const minute = minuteOf(decision.at);
    if (!this.addCount(minute, countField(decision), 1)) {
      this.#taken.decisionDrops++;
      return false;
    }
    this.#countShape(minute, decision);
    if (isBlocked(decision)) this.raise(URGENCY.atOnce);
    else if (this.#reservedShape || decision.outcome !== "allow") this.raise(URGENCY.evidence);
    if (isBlocked(decision)) {
      for (const [dimension, raw] of topIdentities(decision)) this.addTop(`${minute}|${dimension}|${raw}`, 1);
    }
    return true;
  }

  addCount(minute: number, field: string, n: number): boolean {
    const fields = this.#taken.counts.get(minute);
    if (fields?.get(field) === undefined) {
      if (this.#countEntries >= this.#limits.tableSize) return false;
      this.#countEntries++;
    }
    addTo(this.#taken.counts, minute, field, n);
    return true;
  }

  /** The ruleset in force changed: reservation, hosts and declared tenants follow it. */
  setScope(scope: ShapeScope): void {
    this.#scope = scope;
  }

  #countShape(minute: number, decision: Decision): void {
    this.addShape(minute, this.#shapeFieldOf(minute, decision), 1);
  }

  /** The field a decision counts in: its own while capacity lasts, else the folded one. */
  #shapeFieldOf(minute: number, decision: Decision): string {
    const scope = this.#scope;
    const tenant = scope.tenant(decision.tenant);
    const field = shapeField(
      scope.host(decision.host),
      decision.path,
      decision.method,
      tenant,
      decision.outcome,
    );
    const names = this.#shapeNamesOf(minute);
    this.#reservedShape = names.reserved.has(field);
    if (this.#reservedShape || names.general.has(field)) return field;
    this.#reservedShape = scope.reserved(decision.path);
    if (this.#reservedShape) {
      if (names.reserved.size < this.#limits.reservedShapes) {
        names.reserved.add(field);
        return field;
      }
      this.#taken.shapeDrops++;
      return this.#folded(names, SHAPE_OVERFLOW_RESERVED, decision, tenant);
    }
    if (names.general.size < this.#limits.generalShapes) {
      names.general.add(field);
      return field;
    }
    return this.#folded(names, SHAPE_OTHER, decision, tenant);
  }

  /** A folded field keeps method and tenant while their combinations are few, then folds them too. */
  #folded(names: MinuteNames, shape: string, decision: Decision, tenant: string): string {
    const field = shapeField(ANY_HOST, shape, decision.method, tenant, decision.outcome);
    if (names.folded.has(field)) return field;
    if (names.folded.size < FOLDED_CAP) {
      names.folded.add(field);
      return field;
    }
    return shapeField(ANY_HOST, shape, "*", UNDECLARED_TENANT, decision.outcome);
  }

  /** Adds to a field already placed (a decision just counted, or a refused command given back). */
  addShape(minute: number, field: string, n: number): void {
    addTo(this.#taken.shapes, minute, field, n);
  }

  #shapeNamesOf(minute: number): MinuteNames {
    let names = this.#shapeNames.get(minute);
    if (!names) {
      names = { reserved: new Set(), general: new Set(), folded: new Set() };
      this.#shapeNames.set(minute, names);
      for (const old of this.#shapeNames.keys()) if (old < minute - 1) this.#shapeNames.delete(old);
    }
    return names;
  }

  addTop(entry: string, n: number): void {
    const top = this.#taken.top;
    // Best effort: the top lists are a summary, counts and events hold the evidence.
    if (top.has(entry) || top.size < this.#limits.tableSize) top.set(entry, (top.get(entry) ?? 0) + n);
  }

  /** Queues an event; when the buffer is full the decision folds into an aggregate instead. */
  queue(event: QueuedEvent, atFront = false): void {
    const events = this.#taken.events;
    if (isSource(event.item)) this.raise(URGENCY.evidence);
    if (events.length < this.#limits.bufferSize) {
      if (atFront) events.unshift(event);
      else events.push(event);
      return;
    }
    if (isSource(event.item)) {
      this.#taken.eventDrops++;
      return;
    }
    const decision = event.item;
    const { key, fields } = aggregateOf(decision);
    this.mergeAggregate(key, { fields, count: 1, first: decision.at, last: decision.at });
  }

  mergeAggregate(key: string, aggregate: Aggregate): void {
    const aggregates = this.#taken.aggregates;
    const known = aggregates.get(key);
    if (known) {
      known.count += aggregate.count;
      known.first = Math.min(known.first, aggregate.first);
      known.last = Math.max(known.last, aggregate.last);
      return;
    }
    if (aggregates.size >= this.#limits.tableSize) {
      this.#taken.eventDrops += aggregate.count;
      return;
    }
    aggregates.set(key, { ...aggregate, fields: aggregate.fields });
  }

  addDrops(decisions: number, events: number, shapes = 0): void {
    this.#taken.decisionDrops += decisions;
    this.#taken.eventDrops += events;
    this.#taken.shapeDrops += shapes;
  }

  /** Takes everything but the events past `batchSize`, which wait for the next batch. */
  take(batchSize: number): Taken {
    const taken = this.#taken;
    const rest = taken.events.splice(batchSize);
    this.#taken = MirrorAccumulator.#empty();
    this.#taken.events = rest;
    this.#countEntries = 0;
    // Events left for the next batch keep the urgency they came with.
    if (rest.length === 0) this.#urgency = URGENCY.quiet;
    return taken;
  }
}
