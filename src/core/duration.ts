const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The duration syntax rules use: a whole number and a unit, e.g. `500ms`, `10s`, `1m`, `2h`, `1d`. */
export const DURATION_PATTERN = /^([1-9]\d{0,8})(ms|s|m|h|d)$/;

/** Milliseconds of a duration like `1m`; `undefined` when the text is not one. */
export function parseDuration(text: string): number | undefined {
  const found = DURATION_PATTERN.exec(text);
  if (!found) return undefined;
  const [, amount, unit] = found;
  return Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
}

/** Whole seconds, rounded up and never negative: what Retry-After and the RateLimit fields carry. */
export function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}
