/**
 * Turns what the accumulator gave up into the commands of one guarded flush (flush-script.ts),
 * with, for each command, how to put its content back if Redis refused that one command. The batch
 * is built once and frozen: a retry sends exactly the same commands under the same guard.
 *
 * Floods: when more than `aggregateAfter` events of one batch share rule, route, tenant, network and
 * outcome, they are written as ONE aggregate entry (count, first, last) instead of one XADD each.
 * That is what keeps a flood of a million blocked requests from costing a million Redis commands
 * while every distinct (rule, route, tenant, network, outcome) stays visible.
 */
import type { Keyring } from "../../core/identity.js";
import {
  type Aggregate,
  aggregateOf,
  isSource,
  type MirrorAccumulator,
  type QueuedEvent,
  type Taken,
} from "./accumulator.js";
import { eventFieldsOf, sourceEventFields, topMember } from "./event-fields.js";
import type { WeightedCommand } from "./flush-script.js";
import { MIRROR_FORMAT, MIRROR_KEYS } from "./layout.js";

/** How to give a refused command's content back to the accumulator. */
export type Undo =
  | { kind: "count"; minute: number; field: string; n: number }
  | { kind: "shape"; minute: number; field: string; n: number }
  | { kind: "event"; event: QueuedEvent }
  | { kind: "aggregate"; key: string; aggregate: Aggregate }
  | { kind: "drops"; decisions: number; events: number; shapes?: number }
  | { kind: "none" };

export interface FrozenBatch {
  readonly n: number;
  readonly commands: WeightedCommand[];
  readonly undo: Undo[];
  /** Decisions this batch accounts for (counts increments and drops). */
  readonly decisions: number;
  /** `events` entries it writes (single events and aggregates). */
  readonly entries: number;
}

export interface BatchContext {
  readonly prefix: string;
  readonly keyring: Keyring;
  readonly isolate: string;
  readonly maxEvents: number;
  readonly retentionSeconds: number;
  readonly aggregateAfter: number;
  /**
   * A heavy flood's every other batch: aggregates and top-list increments go back to the
   * accumulator and out with the next batch, merged with what it gathers (exact, 2 s later), so
   * each (rule, route, tenant, network, outcome) costs one XADD per two flushes.
   */
  readonly holdSummaries?: boolean;
  /** Keys this isolate already gave an expiry (an EXPIRE per key per isolate is enough). */
  readonly expiring: Set<string>;
}

class Builder {
  readonly commands: WeightedCommand[] = [];
  readonly undo: Undo[] = [];
  decisions = 0;
  entries = 0;

  constructor(readonly context: BatchContext) {}

  key(name: string): string {
    return this.context.prefix + name;
  }

  add(args: string[], undo: Undo, weight = 0): void {
    this.commands.push({ args, weight });
    this.undo.push(undo);
    this.decisions += weight;
  }

  expire(key: string): void {
    const { expiring, retentionSeconds } = this.context;
    if (expiring.has(key)) return;
    // Remembered per isolate; bounded so a long-lived isolate does not collect every minute's keys.
    if (expiring.size > 2_000) expiring.clear();
    expiring.add(key);
    this.add(["EXPIRE", key, String(retentionSeconds)], { kind: "none" });
  }

  /** `mirror:format`, once per isolate (remembered with the expiries): readers know what they read. */
  markFormat(): void {
    const key = this.key(MIRROR_KEYS.format);
    if (this.context.expiring.has(key)) return;
    this.context.expiring.add(key);
    this.add(["SET", key, String(MIRROR_FORMAT)], { kind: "none" });
  }

  xadd(fields: Record<string, string>, undo: Undo): void {
    const args = ["XADD", this.key(MIRROR_KEYS.events), "MAXLEN", "~", String(this.context.maxEvents), "*"];
    for (const [name, value] of Object.entries(fields)) args.push(name, value);
    this.add(args, undo);
    this.entries++;
  }
}

/** Splits the batch's events into single ones and those a flood folds into aggregates. */
function foldFloods(taken: Taken, aggregateAfter: number): QueuedEvent[] {
  const groups = new Map<string, { fields: Record<string, string>; events: QueuedEvent[] }>();
  for (const event of taken.events) {
    if (isSource(event.item) || event.item.outcome === "allow") continue;
    const { key, fields } = aggregateOf(event.item);
    const group = groups.get(key) ?? { fields, events: [] };
    group.events.push(event);
    groups.set(key, group);
  }
  const folded = new Set<QueuedEvent>();
  for (const [key, group] of groups) {
    if (group.events.length <= aggregateAfter) continue;
    for (const event of group.events) folded.add(event);
    const times = group.events.map((event) => event.item.at);
    const aggregate = {
      fields: group.fields,
      count: times.length,
      first: Math.min(...times),
      last: Math.max(...times),
    };
    const known = taken.aggregates.get(key);
    if (known) {
      known.count += aggregate.count;
      known.first = Math.min(known.first, aggregate.first);
      known.last = Math.max(known.last, aggregate.last);
    } else taken.aggregates.set(key, aggregate);
  }
  return folded.size === 0 ? taken.events : taken.events.filter((event) => !folded.has(event));
}

async function addEvents(builder: Builder, taken: Taken): Promise<void> {
  const { keyring, isolate } = builder.context;
  for (const event of taken.events) {
    const fields = isSource(event.item)
      ? sourceEventFields(event.item)
      : await eventFieldsOf(event.item, keyring);
    if (!isSource(event.item)) {
      fields.isolate = isolate;
      fields.seq = String(event.seq);
    }
    builder.xadd(fields, { kind: "event", event });
  }
  for (const [key, aggregate] of taken.aggregates) {
    builder.xadd(
      {
        ts: String(aggregate.last),
        ...aggregate.fields,
        isolate,
        count: String(aggregate.count),
        first: String(aggregate.first),
        last: String(aggregate.last),
      },
      { kind: "aggregate", key, aggregate },
    );
  }
}

function addTables(builder: Builder, taken: Taken): void {
  for (const [minute, fields] of taken.counts) {
    const key = builder.key(MIRROR_KEYS.counts(minute));
    for (const [field, n] of fields)
      builder.add(["HINCRBY", key, field, String(n)], { kind: "count", minute, field, n }, n);
    builder.expire(key);
  }
  for (const [minute, fields] of taken.shapes) {
    const key = builder.key(MIRROR_KEYS.shapes(minute));
    for (const [field, n] of fields)
      builder.add(["HINCRBY", key, field, String(n)], { kind: "shape", minute, field, n });
    builder.expire(key);
  }
  if (taken.shapes.size > 0) builder.markFormat();
  if (taken.shapeDrops > 0)
    builder.add(["INCRBY", builder.key(MIRROR_KEYS.shapeDrops), String(taken.shapeDrops)], {
      kind: "drops",
      decisions: 0,
      events: 0,
      shapes: taken.shapeDrops,
    });
  if (taken.decisionDrops > 0)
    builder.add(
      ["INCRBY", builder.key(MIRROR_KEYS.drops), String(taken.decisionDrops)],
      { kind: "drops", decisions: taken.decisionDrops, events: 0 },
      taken.decisionDrops,
    );
  if (taken.eventDrops > 0)
    builder.add(["INCRBY", builder.key(MIRROR_KEYS.eventDrops), String(taken.eventDrops)], {
      kind: "drops",
      decisions: 0,
      events: taken.eventDrops,
    });
}

async function addTop(builder: Builder, taken: Taken): Promise<void> {
  // Raw identities become members here (pseudonym, network): addresses of one network are one
  // member, so one ZINCRBY for them, not one per address.
  const merged = new Map<string, Map<string, number>>();
  for (const [entry, n] of taken.top) {
    const [minute, dimension, ...rest] = entry.split("|");
    const member = await topMember(
      dimension as "tenant" | "user" | "ip",
      rest.join("|"),
      builder.context.keyring,
    );
    if (member === undefined) continue;
    const key = builder.key(MIRROR_KEYS.top(Number(minute), dimension as string));
    const members = merged.get(key) ?? new Map<string, number>();
    members.set(member, (members.get(member) ?? 0) + n);
    merged.set(key, members);
  }
  for (const [key, members] of merged) {
    for (const [member, n] of members) builder.add(["ZINCRBY", key, String(n), member], { kind: "none" });
    builder.expire(key);
  }
}

/** Gives a batch's aggregates and top-list increments back, for the next batch (see holdSummaries). */
function holdSummaries(taken: Taken, accumulator: MirrorAccumulator): void {
  for (const [key, aggregate] of taken.aggregates) accumulator.mergeAggregate(key, aggregate);
  for (const [entry, n] of taken.top) accumulator.addTop(entry, n);
  taken.aggregates = new Map();
  taken.top = new Map();
}

/**
 * Builds batch `n` from everything taken. Single events beyond `batchSize` (after floods are folded
 * into aggregates) go back to the accumulator for the next batch.
 */
export async function buildBatch(
  n: number,
  taken: Taken,
  context: BatchContext,
  leftover: { batchSize: number; accumulator: MirrorAccumulator },
): Promise<FrozenBatch> {
  const builder = new Builder(context);
  addTables(builder, taken);
  const singles = foldFloods(taken, context.aggregateAfter);
  for (const event of singles.slice(leftover.batchSize)) leftover.accumulator.queue(event);
  taken.events = singles.slice(0, leftover.batchSize);
  if (context.holdSummaries) holdSummaries(taken, leftover.accumulator);
  await addEvents(builder, taken);
  await addTop(builder, taken);
  return {
    n,
    commands: builder.commands,
    undo: builder.undo,
    decisions: builder.decisions,
    entries: builder.entries,
  };
}

/** Gives the content of refused commands back, to go out with the next batch. */
export function restore(accumulator: MirrorAccumulator, undo: readonly Undo[]): void {
  for (const item of undo) {
    if (item.kind === "count") {
      if (!accumulator.addCount(item.minute, item.field, item.n)) accumulator.addDrops(item.n, 0);
    } else if (item.kind === "shape") accumulator.addShape(item.minute, item.field, item.n);
    else if (item.kind === "event") accumulator.queue(item.event, true);
    else if (item.kind === "aggregate") accumulator.mergeAggregate(item.key, item.aggregate);
    else if (item.kind === "drops") accumulator.addDrops(item.decisions, item.events, item.shapes);
  }
}
