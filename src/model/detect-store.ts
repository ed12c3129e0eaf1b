/**
 * What detector rules need from their store (src/stores/detect/): counting that travels in batches
 * (never a round trip per request), the trip decision made atomically in Redis, and what the
 * isolate knows of the quarantines detectors set. Requests never wait on it (docs/detection.md).
 */

export type DetectorType = "enumeration" | "honeytoken" | "probing" | "surge";

/** What a trip may do, decided in Redis under the budget and the settling guard. */
export type DetectPlan =
  | { readonly mode: "alert" }
  /** Monitor mode: would have quarantined; records and alerts only. */
  | { readonly mode: "monitor" }
  | {
      readonly mode: "quarantine" | "approval";
      /** The quarantine key (rate-limit layout) and its evidence record. */
      readonly quarantineKey: string;
      readonly record: string;
      readonly forMs: number;
      readonly budgetKey: string;
      readonly budgetMax: number;
      readonly budgetMs: number;
      readonly epochKey: string;
      readonly spikeKey: string;
      readonly settleMs: number;
      readonly settleKeys: number;
    };

/** One request's contribution to one detector key in one window. */
export interface DetectCount {
  readonly detector: string;
  readonly type: DetectorType;
  /** `DETECT_KEYS.counter(…)`, relative to the prefix. */
  readonly counter: string;
  /** `DETECT_KEYS.detection(id)` and the id. */
  readonly detectionKey: string;
  readonly detectionId: string;
  /** The key's dimension (`tenant+user`, `ip`…) and pseudonyms. */
  readonly dimension: string;
  readonly keyId: string;
  readonly route: string;
  /** A declared tenant (verified, or addressed and validated), for the record. */
  readonly tenant: string | undefined;
  readonly window: number;
  readonly windowMs: number;
  readonly threshold: number;
  /** Enumeration: the keyed pseudonym of the parameter value; otherwise absent (a count of 1). */
  readonly value?: string;
  /** Surge: trips only above `multiplier` × the key's trailing rate per window (and the threshold). */
  readonly surge?: { readonly baselineKey: string; readonly multiplier: number; readonly baselineMs: number };
  readonly plan: DetectPlan;
}

/** A detection as the flush reports it to the isolate that created it (the one that alerts). */
export interface Detection {
  readonly id: string;
  readonly detector: string;
  readonly type: DetectorType;
  readonly route: string;
  readonly dimension: string;
  readonly keyId: string;
  readonly tenant: string | undefined;
  readonly value: number;
  readonly threshold: number;
  readonly windowMs: number;
  /** quarantined, already-quarantined, alert, monitor, awaiting-approval, budget-exhausted, paused-suspected-misconfiguration. */
  readonly action: string;
  readonly at: number;
}

export interface DetectStore {
  /** Adds one count to the isolate's batch and schedules its flush (after the response). */
  count(entry: DetectCount, waitUntil: (promise: Promise<unknown>) => void): void;
  /** Asks the next flush whether this quarantine key is set (at most every 500 ms per key). */
  watch(quarantineKey: string, waitUntil: (promise: Promise<unknown>) => void): void;
  /** Until when the isolate knows this key to be quarantined (its own trips and flush answers). */
  quarantinedUntil(quarantineKey: string): number | undefined;
  /** False after a flush failed and until one succeeds: the detectors' fail mode applies. */
  healthy(): boolean;
}
