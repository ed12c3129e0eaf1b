/**
 * What every measurement hands back. `run.ts` prints `summary` for people and the whole record as one
 * JSON line for machines, and `markdown.ts` turns records into BENCHMARKS.md.
 */

export const MEASUREMENTS = [
  "eval",
  "scale",
  "e2e",
  "refresh",
  "roundtrips",
  "bundle",
  "features",
  "contain",
  "fastlane",
  "cost",
  "memory",
  "flood",
  "load",
  "detect",
] as const;
export type MeasurementId = (typeof MEASUREMENTS)[number];

export interface Goal {
  /** The goal as the issue states it, e.g. "1,000 rules: ≥ 20× faster than the baseline". */
  goal: string;
  /** What was measured against it, e.g. "31×". */
  actual: string;
  /** `null` when it could not be measured in this run (say why in `limit`). */
  met: boolean | null;
  /** For a missed or unmeasured goal: what limits it. */
  limit?: string;
}

export interface Row {
  metric: string;
  value: string;
}

export interface BenchRecord {
  bench: MeasurementId;
  title: string;
  /** One line a person reads. */
  summary: string;
  /** The numbers, flat, for machines (units in the key names: `_ns`, `_ms`, `_bytes`, `_rps`). */
  metrics: Record<string, number | string | boolean | null>;
  /** Results table rows for BENCHMARKS.md. */
  rows: Row[];
  goals: Goal[];
  /** Exactly what was measured and how, for BENCHMARKS.md. */
  method: string[];
  /** Set when the measurement itself failed; the other fields then say what is known. */
  error?: string;
  /** Filled by run.ts: when and on which commit the record was made. */
  at?: string;
  commit?: string;
  durationMs?: number;
  /** 1-minute load average before and after: on a shared 2-core machine, the context of the numbers. */
  loadAverage?: [number, number];
}

/** The marker a measurement child prints before its JSON record, so logs and records never mix. */
export const RECORD_PREFIX = "BENCH_RECORD ";

export function goalMet(met: boolean | null): string {
  if (met === null) return "not measured";
  return met ? "met" : "MISSED";
}
