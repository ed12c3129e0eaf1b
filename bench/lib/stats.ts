/** Order statistics over samples; medians, not means, so one GC pause or scheduler hiccup does not move a result. */

export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const position = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[position] as number;
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Rounds to `digits` significant digits: benchmark output should not pretend to more precision than it has. */
export function sig(value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(digits));
}

export function formatNs(ns: number): string {
  if (ns >= 1e6) return `${sig(ns / 1e6)} ms`;
  if (ns >= 1e3) return `${sig(ns / 1e3)} µs`;
  return `${sig(ns)} ns`;
}

export function formatBytes(bytes: number): string {
  if (Math.abs(bytes) >= 1024 ** 3) return `${sig(bytes / 1024 ** 3)} GB`;
  if (Math.abs(bytes) >= 1024 * 1024) return `${sig(bytes / 1024 / 1024)} MB`;
  if (Math.abs(bytes) >= 1024) return `${sig(bytes / 1024)} KB`;
  return `${bytes} B`;
}
