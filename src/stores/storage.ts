import type { Keyring } from "../core/identity.js";
import type { DetectStore } from "../model/detect-store.js";
import type { RateLimitStore } from "../model/rate-limit-store.js";
import type { DecisionSink } from "../model/sink.js";
import type { CompiledRuleset } from "../rules/ruleset.js";
import type { Enforcement, MirrorOptions, MirrorStats } from "./mirror/options.js";

/** The decision mirror as the firewall holds it: a sink that also reports its health. */
export interface StorageMirror extends DecisionSink {
  stats(): MirrorStats;
  recordSource(event: string, detail?: Readonly<Record<string, unknown>>, region?: string): void;
  /** What the isolate enforces (ruleset digest, kill switches), for its enforcement report. */
  noteEnforcement?(enforcement: Enforcement): void;
  /** The ruleset in force: which route shapes have reserved capacity (docs/recorded-format.md). */
  noteRuleset?(ruleset: CompiledRuleset): void;
}

/**
 * A store passed by value, e.g. `redis: memoryStore()` from `edge-containment/memory`. A value, not
 * a registration at import time: bundlers that honour `"sideEffects": false` (webpack, as Next.js
 * uses it) drop import-time registrations, and a dropped store would fail every rate limit closed.
 * The firewall builds it once, with its own keyring and clock.
 */
export interface StoreProvider {
  readonly kind: "memory";
  create(setup: { keyring: Keyring; now: () => number; mirror: MirrorOptions | undefined }): {
    store: RateLimitStore;
    mirror?: StorageMirror;
    /** Detectors' counting, when the provider has one (the replay's: src/stores/detect/memory-detect.ts). */
    detect?: DetectStore;
  };
}

export function isStoreProvider(value: unknown): value is StoreProvider {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { kind?: unknown }).kind === "memory" &&
    typeof (value as { create?: unknown }).create === "function"
  );
}
