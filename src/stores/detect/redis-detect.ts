/**
 * The detectors' store: one batch per isolate, flushed in one Lua call (script.ts) after the
 * responses that filled it, never in front of a request (docs/detection.md, "Cost and speed").
 *
 * Why its own flush rather than the mirror's: the mirror paces unreserved traffic up to 60 s, and a
 * detector must contain within about a round trip of the crossing. This flush runs at most every
 * `intervalMs` (default 250 ms) while counts arrive, and at once when a key's last known global count
 * plus what this isolate holds reaches its threshold; so an enumerator at 200 req/s costs about four
 * calls a second per busy isolate, not one per request. One flush is in flight at a time, and a
 * second only for a batch that crosses a threshold.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { BoundedMap } from "../../core/bounded.js";
import { errorText } from "../../core/errors.js";
import type { DetectCount, Detection, DetectStore } from "../../model/detect-store.js";
import { DETECT_KEYS, DETECTIONS_KEPT } from "../../rules/detector/keys.js";
import { luaScript } from "../script-runner.js";
import { alertTargets, sendAlerts } from "./alerts.js";
import { DETECT_FLUSH_SCRIPT } from "./script.js";

export interface DetectStoreOptions {
  readonly client: Redis;
  readonly prefix: string;
  readonly now: () => number;
  readonly fetch: typeof fetch;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly region: string;
  readonly report: (event: string, detail?: Readonly<Record<string, unknown>>) => void;
  readonly intervalMs?: number;
  /** Deadline of one flush; past it the batch is taken as lost (counts of that batch, not requests). */
  readonly timeoutMs?: number;
}

/** A detection's hash lives this long (the responder enters it into the audit chain before then). */
const DETECTION_TTL_MS = 30 * 86_400_000;
/** Distinct values one key holds between flushes; more flush at once. */
const MAX_VALUES = 1000;
/** Keys one batch holds; beyond, counts are dropped and reported (bounded memory under a flood). */
const MAX_PENDING = 5000;
/**
 * The share of its threshold from which a key's global count (as last known, plus this isolate's
 * counts under way) sends its counts without waiting for the interval. A benign day's busiest user
 * stays far below it (BENCHMARKS.md, detect: 16 of 50), so only a key heading for its threshold
 * pays the extra calls, for the few counts before it crosses.
 */
const NEAR_THRESHOLD = 0.8;
/** How often a flush asks about one quarantine key the isolate sees on a scope (refused or not). */
const WATCH_EVERY_MS = 500;

interface Pending {
  entry: DetectCount;
  values: Set<string>;
  n: number;
}

interface FlushReply {
  c?: Array<[string, number, string?, number?]> | Record<string, never>;
  w?: Array<[string, number]> | Record<string, never>;
}

export function redisDetectStore(options: DetectStoreOptions): DetectStore {
  const intervalMs = options.intervalMs ?? 250;
  const timeoutMs = options.timeoutMs ?? 2000;
  const script = luaScript(options.client, DETECT_FLUSH_SCRIPT);
  const isolate = crypto.randomUUID().slice(0, 8);
  const targets = alertTargets(options.env);
  let pending = new Map<string, Pending>();
  let watching = new Set<string>();
  const known = new BoundedMap<string, number>(10_000);
  const quarantines = new BoundedMap<string, number>(10_000);
  const watchedAt = new BoundedMap<string, number>(10_000);
  /** Flushes under way: one at a time, and a second only for an urgent batch (see flush). */
  let inFlight = 0;
  let timerSet = false;
  let lastFlush = Number.NEGATIVE_INFINITY;
  let failedSince: number | undefined;
  let dropped = 0;

  /** Counts in flushes under way, per counter: neither in the last known count nor pending any more. */
  const flying = new Map<string, number>();
  const sizeOf = (item: Pending): number => (item.entry.value === undefined ? item.n : item.values.size);

  /** The key's count as this isolate can know it: the last global count, plus what it sent since and holds. */
  const reckoned = (item: Pending): number =>
    (known.get(item.entry.counter) ?? 0) + (flying.get(item.entry.counter) ?? 0) + sizeOf(item);

  function urgent(item: Pending): boolean {
    return reckoned(item) > item.entry.threshold || item.values.size >= MAX_VALUES;
  }

  /** Close enough to its threshold that its counts go out without waiting for the interval. */
  const near = (item: Pending): boolean => reckoned(item) >= item.entry.threshold * NEAR_THRESHOLD;

  function toDetection(entry: DetectCount, value: number, action: string, at: number): Detection {
    return {
      id: entry.detectionId,
      detector: entry.detector,
      type: entry.type,
      route: entry.route,
      dimension: entry.dimension,
      keyId: entry.keyId,
      tenant: entry.tenant,
      value,
      threshold: entry.threshold,
      windowMs: entry.windowMs,
      action,
      at,
    };
  }

  /** A batch whose flush failed goes back in front of what came since (an HLL absorbs a repeat). */
  function restore(batch: Map<string, Pending>, watch: Set<string>): void {
    for (const [counter, item] of batch) {
      const later = pending.get(counter);
      if (later) {
        for (const value of later.values) item.values.add(value);
        item.n += later.n;
      }
      pending.set(counter, item);
    }
    for (const key of watch) watching.add(key);
  }

  async function flushOnce(): Promise<void> {
    const batch = pending;
    const watch = watching;
    pending = new Map();
    watching = new Set();
    if (batch.size === 0 && watch.size === 0) return;
    const now = options.now();
    lastFlush = now;
    for (const [counter, item] of batch) flying.set(counter, (flying.get(counter) ?? 0) + sizeOf(item));
    const c = [...batch.values()].map(({ entry, values, n }) => ({
      k: entry.counter,
      h: entry.value === undefined ? 0 : 1,
      n,
      v: [...values],
      ttl: entry.windowMs * 2,
      th: entry.threshold,
      id: entry.detectionId,
      d: entry.detectionKey,
      det: entry.detector,
      typ: entry.type,
      dim: entry.dimension,
      kid: entry.keyId,
      route: entry.route,
      ten: entry.tenant ?? "",
      win: entry.window,
      wms: entry.windowMs,
      p: entry.plan,
      ...(entry.surge
        ? { s: { k: entry.surge.baselineKey, m: entry.surge.multiplier, ms: entry.surge.baselineMs } }
        : {}),
    }));
    const args = [
      options.prefix,
      String(now),
      `${options.region}/${isolate}`,
      DETECT_KEYS.stream,
      String(DETECTIONS_KEPT),
      String(DETECTION_TTL_MS),
      JSON.stringify({ c, w: [...watch] }),
    ];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`detector flush took over ${timeoutMs} ms`)), timeoutMs);
    });
    let raw: unknown;
    try {
      raw = await Promise.race([script.run([], args), deadline]);
    } catch (error) {
      restore(batch, watch);
      throw error;
    } finally {
      clearTimeout(timer);
      for (const [counter, item] of batch) {
        const left = (flying.get(counter) ?? 0) - sizeOf(item);
        if (left > 0) flying.set(counter, left);
        else flying.delete(counter);
      }
    }
    const reply = (typeof raw === "string" ? JSON.parse(raw) : raw) as FlushReply;
    const trips: Detection[] = [];
    for (const [counter, value, action, pttl] of Array.isArray(reply.c) ? reply.c : []) {
      known.set(counter, value);
      const item = batch.get(counter);
      if (!item) continue;
      if (pttl !== undefined && pttl > 0 && "forMs" in item.entry.plan)
        quarantines.set(item.entry.plan.quarantineKey, now + pttl);
      if (action === undefined || action === "") continue;
      trips.push(toDetection(item.entry, value, action, now));
      const plan = item.entry.plan;
      if (action === "quarantined" && "forMs" in plan) quarantines.set(plan.quarantineKey, now + plan.forMs);
    }
    for (const [key, ttl] of Array.isArray(reply.w) ? reply.w : []) {
      if (ttl > 0) quarantines.set(key, now + ttl);
      else quarantines.delete(key);
    }
    for (const detection of trips) {
      options.report("detection", {
        id: detection.id,
        detector: detection.detector,
        action: detection.action,
        value: detection.value,
      });
      const failed = await sendAlerts(targets, detection, "trigger", {
        fetch: options.fetch,
        now: options.now(),
        source: `edge-containment/${options.region}`,
      });
      if (failed.length > 0) options.report("alert-error", { id: detection.id, message: failed.join("; ") });
    }
  }

  /**
   * Flushes until nothing urgent is left (at most three rounds in one background task). One flush at
   * a time, but a batch whose count crosses a threshold does not wait a whole round trip behind the
   * flush under way: it goes in a second one at once (counts add up in Redis in any order).
   */
  async function flush(urgentNow = false): Promise<void> {
    if (inFlight >= (urgentNow ? 2 : 1)) return;
    inFlight++;
    try {
      for (let round = 0; round < 3; round++) {
        await flushOnce();
        failedSince = undefined;
        if (![...pending.values()].some((item) => urgent(item) || near(item))) break;
      }
    } catch (error) {
      failedSince ??= options.now();
      options.report("detector-flush-error", {
        message: errorText(error).slice(0, 200),
      });
    } finally {
      inFlight--;
    }
  }

  /**
   * `urgent`: this batch crosses a threshold (a second flush may run beside the one under way);
   * `soon`: a key is near its threshold (no interval, but one flush at a time: the one under way
   * takes what is pending when it returns); otherwise paced by `intervalMs`.
   */
  function schedule(waitUntil: (promise: Promise<unknown>) => void, pace: "urgent" | "soon" | "paced"): void {
    const now = pace === "urgent";
    if (inFlight > 0) {
      if (now && inFlight < 2) {
        waitUntil(flush(true));
        return;
      }
      if (timerSet) return;
      timerSet = true;
      waitUntil(
        new Promise((resolve) => setTimeout(resolve, intervalMs)).then(() => {
          timerSet = false;
          return flush();
        }),
      );
      return;
    }
    const wait = pace === "paced" ? lastFlush + intervalMs - options.now() : 0;
    if (wait <= 0) {
      waitUntil(flush());
      return;
    }
    if (timerSet) return;
    timerSet = true;
    waitUntil(
      new Promise((resolve) => setTimeout(resolve, wait)).then(() => {
        timerSet = false;
        return flush();
      }),
    );
  }

  return {
    count(entry, waitUntil) {
      let item = pending.get(entry.counter);
      if (!item) {
        if (pending.size >= MAX_PENDING) {
          dropped++;
          if (dropped === 1 || dropped % 1000 === 0)
            options.report("detector-dropped", { message: `${dropped} detector counts dropped: batch full` });
          return;
        }
        item = { entry, values: new Set(), n: 0 };
        pending.set(entry.counter, item);
      }
      if (entry.value === undefined) item.n++;
      else item.values.add(entry.value);
      schedule(waitUntil, urgent(item) ? "urgent" : near(item) ? "soon" : "paced");
    },
    watch(quarantineKey, waitUntil) {
      const now = options.now();
      if (now - (watchedAt.get(quarantineKey) ?? Number.NEGATIVE_INFINITY) < WATCH_EVERY_MS) return;
      watchedAt.set(quarantineKey, now);
      watching.add(quarantineKey);
      schedule(waitUntil, "paced");
    },
    quarantinedUntil(quarantineKey) {
      return quarantines.get(quarantineKey);
    },
    healthy() {
      // One failed flush is not an outage: the fail mode applies after 5 s without a good one.
      return failedSince === undefined || options.now() - failedSince < 5000;
    },
  };
}
