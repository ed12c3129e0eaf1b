/**
 * The Redis mirror: every decision, off the hot path, in the layout dashboards read (DESIGN.md):
 *
 *   events                      stream, XADD MAXLEN ~ maxEvents: non-allow decisions always,
 *                               allows sampled (`sampleAllows`), source problems (`rules-invalid`)
 *   counts:<minute>             hash `rule|outcome → n` of ALL decisions (sampling does not apply)
 *   top:<minute>:<dimension>    zsets of blocked tenants / users (pseudonym) / IPs (network)
 *   enforcing                   hash region → {"digest","at"} (every `enforcingEveryMs`, and at once
 *                               when an isolate's digest changes)
 *   mirror:drops                decisions this deployment could not mirror (buffer full, or given up)
 *
 * `record` only buffers (synchronous, O(1)). `flush` runs in the request's `waitUntil` and sends at
 * most one pipeline per round: while a flush is in flight or one started less than `minIntervalMs`
 * ago, one request waits as "standby" on a timer of its own and sends whatever has gathered; every
 * other request leaves its decision in the buffer and returns at once. That is fewer Redis requests
 * than decisions under load, and no decision stranded when traffic stops.
 *
 * workerd forbids a request to await I/O begun by another request (it can hang or throw), so a
 * flush never awaits, returns or chains onto another request's promise: requests coordinate only
 * through plain flags, and each sends its own fetch. A mirror failure never changes a response:
 * `flush` never rejects.
 */

import type { Redis } from "@upstash/redis/cloudflare";
import { withDeadline } from "../core/deadline.js";
import type { Keyring } from "../core/identity.js";
import { type Decision, isBlocked } from "../model/decision.js";
import type { DecisionSink } from "../model/sink.js";
import {
  countField,
  evidenceOf,
  minuteOf,
  type SourceEvent,
  sourceEvidence,
  topIdentities,
  topMember,
} from "./evidence.js";

export interface MirrorOptions {
  /** Share (0–1) of allowed decisions written to `events`; every other outcome is always written. Default 0.01. */
  sampleAllows?: number;
  /** Approximate length cap of the `events` stream (XADD MAXLEN ~). Default 100 000. */
  maxEvents?: number;
  /** Decisions an isolate buffers between flushes; beyond that they are dropped and counted. Default 2 000. */
  bufferSize?: number;
  /** Events per Redis request. Default 500. */
  batchSize?: number;
  /** Least time between two flushes of one isolate. Default 100 ms. */
  minIntervalMs?: number;
  /** Deadline of one flush request. Default 2 000 ms. */
  timeoutMs?: number;
  /** Lifetime of `counts:<minute>` and `top:<minute>:*` keys. Default 8 days. */
  retentionSeconds?: number;
  /** How often an isolate refreshes its `enforcing` entry. Default 10 000 ms. */
  enforcingEveryMs?: number;
  /** Random source for sampling (tests). */
  random?: () => number;
}

export interface MirrorStats {
  /** Decisions handed to `record`. */
  recorded: number;
  /** Events waiting for a flush. */
  buffered: number;
  /** Events written to Redis. */
  sent: number;
  /** Decisions that could not be mirrored (also added to `mirror:drops` in Redis). */
  dropped: number;
  /** Pipeline requests sent. */
  flushes: number;
  /** Pipeline requests that failed (and were retried or dropped). */
  failures: number;
  lastError?: string;
}

/** A DecisionSink with visible accounting and a way to record problems of the rules source. */
export interface Mirror extends DecisionSink {
  stats(): MirrorStats;
  recordSource(event: string, detail?: Readonly<Record<string, unknown>>, region?: string): void;
}

export interface RedisMirrorDeps {
  client: Redis;
  keyring: Keyring;
  /** Key prefix, default `containment:`. */
  prefix?: string;
  region?: string;
  report?: (event: string, detail?: Readonly<Record<string, unknown>>) => void;
}

type Buffered = Decision | SourceEvent;
type Dimension = "tenant" | "user" | "ip";
type Enforcing = { region: string; digest: string; at: number };

const MAX_AGGREGATES = 10_000;
const MAX_BACKOFF_MS = 30_000;
// Wall-clock for coordination, never an injected test clock: a frozen clock would spin the standby loop.
const clock = (): number => Date.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function isSource(item: Buffered): item is SourceEvent {
  return "source" in item;
}

/**
 * @example
 * const mirror = redisMirror({ client: createRedisClient({ url, token }), keyring });
 * createContainment({ sinks: [mirror] }); // or just `redis: { url, token }`: the mirror is on by default
 */
export function redisMirror(deps: RedisMirrorDeps, options: MirrorOptions = {}): Mirror {
  return new RedisMirror(deps, options);
}

class RedisMirror implements Mirror {
  readonly #client: Redis;
  readonly #keyring: Keyring;
  readonly #prefix: string;
  readonly #region: string;
  readonly #report: NonNullable<RedisMirrorDeps["report"]>;
  readonly #sampleAllows: number;
  readonly #maxEvents: number;
  readonly #bufferSize: number;
  readonly #batchSize: number;
  readonly #minIntervalMs: number;
  readonly #timeoutMs: number;
  readonly #retention: number;
  readonly #enforcingEveryMs: number;
  readonly #random: () => number;

  #events: Buffered[] = [];
  /** minute → field → n */
  #counts = new Map<number, Map<string, number>>();
  #countEntries = 0;
  /** `minute|dimension|raw` → n (raw identities stay in the isolate until pseudonymized at send) */
  #top = new Map<string, number>();
  #enforcing: Enforcing | undefined;
  #enforcedDigest: string | undefined;
  #enforcedAt = Number.NEGATIVE_INFINITY;
  #dropsUnsent = 0;

  #inFlight = false;
  #inFlightSince = 0;
  #standby = false;
  #lastStart = Number.NEGATIVE_INFINITY;
  #backoffUntil = 0;
  #consecutiveFailures = 0;
  readonly #stats: MirrorStats = { recorded: 0, buffered: 0, sent: 0, dropped: 0, flushes: 0, failures: 0 };

  constructor(deps: RedisMirrorDeps, options: MirrorOptions) {
    this.#client = deps.client;
    this.#keyring = deps.keyring;
    this.#prefix = deps.prefix ?? "containment:";
    this.#region = deps.region ?? "local";
    this.#report = deps.report ?? (() => {});
    this.#sampleAllows = Math.min(1, Math.max(0, options.sampleAllows ?? 0.01));
    this.#maxEvents = Math.max(1, options.maxEvents ?? 100_000);
    this.#bufferSize = Math.max(1, options.bufferSize ?? 2_000);
    this.#batchSize = Math.max(1, options.batchSize ?? 500);
    this.#minIntervalMs = Math.max(0, options.minIntervalMs ?? 100);
    this.#timeoutMs = Math.max(1, options.timeoutMs ?? 2_000);
    this.#retention = Math.max(60, options.retentionSeconds ?? 8 * 86_400);
    this.#enforcingEveryMs = Math.max(0, options.enforcingEveryMs ?? 10_000);
    this.#random = options.random ?? Math.random;
  }

  record(decision: Decision): void {
    this.#stats.recorded++;
    const minute = minuteOf(decision.at);
    if (!this.#count(minute, countField(decision))) {
      this.#drop(1);
      return;
    }
    if (isBlocked(decision)) {
      for (const [dimension, raw] of topIdentities(decision)) {
        const key = `${minute}|${dimension}|${raw}`;
        // Best effort: the top lists are a summary, the events hold the evidence.
        if (this.#top.has(key) || this.#top.size < MAX_AGGREGATES)
          this.#top.set(key, (this.#top.get(key) ?? 0) + 1);
      }
    }
    const now = clock();
    if (decision.rulesetDigest !== this.#enforcedDigest || now - this.#enforcedAt >= this.#enforcingEveryMs) {
      this.#enforcedDigest = decision.rulesetDigest;
      this.#enforcedAt = now;
      this.#enforcing = { region: decision.region, digest: decision.rulesetDigest, at: decision.at };
    }
    if (decision.outcome === "allow" && !(this.#random() < this.#sampleAllows)) return;
    this.#buffer(decision);
  }

  recordSource(event: string, detail?: Readonly<Record<string, unknown>>, region = this.#region): void {
    const message = typeof detail?.message === "string" ? detail.message : event;
    this.#buffer({ source: true, at: clock(), event, message, region });
  }

  stats(): MirrorStats {
    return { ...this.#stats, buffered: this.#events.length };
  }

  async flush(): Promise<void> {
    try {
      // A few rounds at most: enough to drain a full buffer after a burst, bounded under load.
      const rounds = Math.ceil(this.#bufferSize / this.#batchSize) + 2;
      for (let round = 0; round < rounds; round++) {
        if (!this.#hasWork() || this.#standby) return;
        if (!(await this.#awaitTurn())) return;
        if (!this.#hasWork()) return;
        await this.#send();
      }
    } catch (error) {
      this.#report("mirror-error", { message: String(error).slice(0, 200) });
    }
  }

  #count(minute: number, field: string, n = 1): boolean {
    let fields = this.#counts.get(minute);
    if (!fields) {
      fields = new Map();
      this.#counts.set(minute, fields);
    }
    const current = fields.get(field);
    if (current === undefined) {
      if (this.#countEntries >= MAX_AGGREGATES) return false;
      this.#countEntries++;
    }
    fields.set(field, (current ?? 0) + n);
    return true;
  }

  #buffer(item: Buffered): void {
    if (this.#events.length >= this.#bufferSize) {
      this.#drop(1);
      return;
    }
    this.#events.push(item);
  }

  #drop(n: number): void {
    this.#stats.dropped += n;
    this.#dropsUnsent += n;
  }

  #hasWork(): boolean {
    return (
      this.#events.length > 0 ||
      this.#countEntries > 0 ||
      this.#top.size > 0 ||
      this.#enforcing !== undefined ||
      this.#dropsUnsent > 0
    );
  }

  /**
   * Becomes the one standby of this isolate and waits, on its own timer, until no flush is in
   * flight, `minIntervalMs` has passed since the last one started, and any failure backoff is over.
   * False when another request is standby already, or the wait would be too long (a later request
   * will flush).
   */
  async #awaitTurn(): Promise<boolean> {
    if (this.#standby) return false;
    this.#standby = true;
    try {
      const giveUpAt = clock() + this.#timeoutMs + this.#minIntervalMs;
      for (;;) {
        const now = clock();
        // An in-flight flush whose request was torn down never settles; do not wait on it forever.
        const busy = this.#inFlight && now - this.#inFlightSince < this.#timeoutMs + 1_000;
        const wait = Math.max(
          this.#lastStart + this.#minIntervalMs - now,
          this.#backoffUntil - now,
          busy ? Math.max(5, this.#minIntervalMs / 4) : 0,
        );
        if (wait <= 0) return true;
        if (now + wait > giveUpAt) return false;
        await sleep(wait);
      }
    } finally {
      this.#standby = false;
    }
  }

  async #send(): Promise<void> {
    const startedAt = clock();
    this.#inFlight = true;
    this.#inFlightSince = startedAt;
    this.#lastStart = startedAt;

    const events = this.#events.splice(0, this.#batchSize);
    const counts = this.#counts;
    const top = this.#top;
    const enforcing = this.#enforcing;
    const drops = this.#dropsUnsent;
    this.#counts = new Map();
    this.#countEntries = 0;
    this.#top = new Map();
    this.#enforcing = undefined;
    this.#dropsUnsent = 0;

    try {
      const pipeline = this.#client.pipeline();
      const key = (name: string): string => this.#prefix + name;
      for (const item of events) {
        const fields = isSource(item) ? sourceEvidence(item) : await evidenceOf(item, this.#keyring);
        pipeline.xadd(key("events"), "*", fields, {
          trim: { type: "MAXLEN", threshold: this.#maxEvents, comparison: "~" },
        });
      }
      for (const [minute, fields] of counts) {
        const countsKey = key(`counts:${minute}`);
        for (const [field, n] of fields) pipeline.hincrby(countsKey, field, n);
        pipeline.expire(countsKey, this.#retention);
      }
      const topKeys = new Set<string>();
      for (const [entry, n] of top) {
        const [minute, dimension, ...rest] = entry.split("|");
        const member = await topMember(dimension as Dimension, rest.join("|"), this.#keyring);
        if (member === undefined) continue;
        const topKey = key(`top:${minute}:${dimension}`);
        pipeline.zincrby(topKey, n, member);
        topKeys.add(topKey);
      }
      for (const topKey of topKeys) pipeline.expire(topKey, this.#retention);
      if (enforcing)
        pipeline.hset(key("enforcing"), {
          [enforcing.region]: JSON.stringify({ digest: enforcing.digest, at: enforcing.at }),
        });
      if (drops > 0) pipeline.incrby(key("mirror:drops"), drops);

      this.#stats.flushes++;
      const replies = await withDeadline(
        pipeline.exec({ keepErrors: true }),
        this.#timeoutMs,
        "mirror flush",
      );
      const failed = replies.find((reply) => reply.error);
      if (failed?.error) {
        this.#stats.lastError = failed.error.slice(0, 200);
        this.#report("mirror-error", { message: `a mirrored command failed: ${this.#stats.lastError}` });
      }
      this.#stats.sent += events.length;
      this.#consecutiveFailures = 0;
      this.#backoffUntil = 0;
    } catch (error) {
      // Transport failure or deadline: keep what fits for the next flush (it may then be written
      // twice if the request did reach Redis: events carry the request id to tell), count the rest.
      this.#stats.failures++;
      this.#stats.lastError = String(error).slice(0, 200);
      this.#consecutiveFailures++;
      this.#backoffUntil = clock() + Math.min(MAX_BACKOFF_MS, 250 * 2 ** (this.#consecutiveFailures - 1));
      this.#requeue(events, counts, top, enforcing, drops);
      this.#report("mirror-error", { message: this.#stats.lastError });
    } finally {
      this.#inFlight = false;
    }
  }

  #requeue(
    events: Buffered[],
    counts: Map<number, Map<string, number>>,
    top: Map<string, number>,
    enforcing: Enforcing | undefined,
    drops: number,
  ): void {
    const room = Math.max(0, this.#bufferSize - this.#events.length);
    const kept = events.slice(0, room);
    this.#events = [...kept, ...this.#events];
    let lost = events.length - kept.length;
    for (const [minute, fields] of counts) {
      for (const [field, n] of fields) if (!this.#count(minute, field, n)) lost += n;
    }
    for (const [entry, n] of top)
      if (this.#top.has(entry) || this.#top.size < MAX_AGGREGATES)
        this.#top.set(entry, (this.#top.get(entry) ?? 0) + n);
    this.#enforcing ??= enforcing;
    this.#dropsUnsent += drops;
    if (lost > 0) this.#drop(lost);
  }
}
