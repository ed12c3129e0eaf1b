/**
 * Detectors counted in memory, exactly and at once: the store `containment rules test` replays a
 * request log with (docs/detection.md, "Choosing thresholds"). It decides trips as the Lua flush
 * does (script.ts: the threshold, surge's halving baseline, one detection per id, the budget), but
 * per request rather than per flush, and without the settling guard (a replay is not a rules push).
 * It also keeps the highest count each key reached, per detector: what a threshold is chosen from.
 *
 * Never on the edge path: an isolate's memory holds only its own traffic, nothing global.
 */
import type { DetectCount, Detection, DetectStore } from "../../model/detect-store.js";

export interface CountedKey {
  readonly detector: string;
  readonly type: DetectCount["type"];
  readonly dimension: string;
  readonly keyId: string;
  readonly tenant: string | undefined;
  readonly route: string;
  /** Start of the window (ms) in which this key counted the most. */
  readonly window: number;
  readonly value: number;
}

export interface MemoryDetectStore extends DetectStore {
  /** Every trip, in the order it happened. */
  readonly trips: Detection[];
  /** The highest window count of every key, per detector. */
  counted(): CountedKey[];
}

interface Counter {
  values: Set<string>;
  n: number;
}

export function memoryDetectStore(now: () => number): MemoryDetectStore {
  const counters = new Map<string, Counter>();
  const detections = new Set<string>();
  const budgets = new Map<string, number>();
  const baselines = new Map<string, { n: number; since: number }>();
  const quarantines = new Map<string, number>();
  const best = new Map<string, CountedKey>();
  const trips: Detection[] = [];

  /** Surge: above `multiplier` × the key's trailing rate per window (script.ts, `surging`). */
  function surging(entry: DetectCount, value: number, at: number): boolean {
    const surge = entry.surge;
    if (!surge) return true;
    const base = baselines.get(surge.baselineKey) ?? { n: 0, since: at };
    let { n, since } = base;
    if (at - since > surge.baselineMs) {
      since = at - Math.floor((at - since) / 2);
      n = Math.floor(n / 2);
    }
    baselines.set(surge.baselineKey, { n: n + 1, since });
    const history = entry.window * entry.windowMs - since;
    if (history < entry.windowMs) return false;
    const before = Math.max(0, n - (value - 1));
    return value > surge.multiplier * (before / (history / entry.windowMs));
  }

  function decide(entry: DetectCount): string {
    const plan = entry.plan;
    if (plan.mode !== "quarantine" && plan.mode !== "approval") return plan.mode;
    if (plan.mode === "approval") return "awaiting-approval";
    const used = (budgets.get(plan.budgetKey) ?? 0) + 1;
    budgets.set(plan.budgetKey, used);
    if (used > plan.budgetMax) return "budget-exhausted";
    if ((quarantines.get(plan.quarantineKey) ?? 0) > now()) return "already-quarantined";
    quarantines.set(plan.quarantineKey, now() + plan.forMs);
    return "quarantined";
  }

  return {
    trips,
    counted: () => [...best.values()],
    count(entry) {
      const at = now();
      let counter = counters.get(entry.counter);
      if (!counter) {
        counter = { values: new Set(), n: 0 };
        counters.set(entry.counter, counter);
      }
      if (entry.value === undefined) counter.n++;
      else counter.values.add(entry.value);
      const value = entry.value === undefined ? counter.n : counter.values.size;
      const keyName = `${entry.detector}\u0000${entry.dimension}:${entry.keyId}`;
      if (value > (best.get(keyName)?.value ?? 0))
        best.set(keyName, {
          detector: entry.detector,
          type: entry.type,
          dimension: entry.dimension,
          keyId: entry.keyId,
          tenant: entry.tenant,
          route: entry.route,
          window: entry.window * entry.windowMs,
          value,
        });
      const surge = surging(entry, value, at);
      if (value <= entry.threshold || !surge || detections.has(entry.detectionId)) return;
      detections.add(entry.detectionId);
      trips.push({
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
        action: decide(entry),
        at,
      });
    },
    watch() {},
    quarantinedUntil: (key) => quarantines.get(key),
    healthy: () => true,
  };
}
