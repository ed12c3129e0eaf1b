/**
 * `--wait`: confirms THE CHANGE THIS COMMAND MADE, region by region, from the isolates' MAC'd
 * enforcement reports (CONTRACTS format 1). A region is confirmed when every isolate seen there in
 * the last `windowMs` reports it: this switch at this version (or a later one), absent after a lift
 * (in a report made after the lift), or this ruleset digest. Reports that fail the MAC (written with
 * the Redis token alone) or carry none are never confirmations; they are counted and named.
 */
import type { OpsContext } from "./context.js";
import type { IsolateRecord } from "./mirror-reader.js";

export type Expectation =
  | { kind: "present"; id: string; version: number }
  | { kind: "absent"; id: string }
  | { kind: "digest"; digest: string };

export interface RegionConfirmation {
  region: string;
  /** ms from the write to the poll that saw it confirmed. */
  afterMs: number;
  isolates: number;
}

export interface RegionBehind {
  region: string;
  /** Isolates not yet enforcing the change, with what they report. */
  isolates: Array<{ isolate: string; state: string }>;
}

export interface ConfirmResult {
  ok: boolean;
  confirmed: RegionConfirmation[];
  behind: RegionBehind[];
  /** Reports ignored because their MAC failed or was missing. */
  unverified: Array<{ member: string; trust: string }>;
  /** Why nothing could be confirmed at all. */
  reason?: "no-redis" | "no-secret" | "no-isolates" | "timeout";
}

export interface ConfirmOptions {
  expectation: Expectation;
  /** Client time the change was written. */
  writtenAt: number;
  /** Isolates seen within this long count; default 30 s. */
  windowMs?: number;
  timeoutMs?: number;
  pollMs?: number;
  onRegion?: (confirmation: RegionConfirmation) => void;
  sleep?: (ms: number) => Promise<void>;
}

function versionOf(token: string, id: string): number | undefined {
  const at = token.lastIndexOf("@");
  const name = at === -1 ? token : token.slice(0, at);
  if (name !== id) return undefined;
  return at === -1 ? 0 : Number(token.slice(at + 1));
}

/** Whether one verified report shows the change; otherwise a short description of what it shows. */
export function reportShows(
  record: IsolateRecord,
  expectation: Expectation,
  writtenAt: number,
): true | string {
  const report = record.report;
  if (report === undefined) return "no report";
  const tokens = [...report.switches, ...report.fast];
  if (expectation.kind === "digest")
    return report.digest === expectation.digest ? true : `digest ${report.digest}`;
  const versions = tokens
    .map((token) => versionOf(token, expectation.id))
    .filter((v): v is number => v !== undefined);
  if (expectation.kind === "present") {
    if (versions.some((v) => v >= expectation.version)) return true;
    return versions.length === 0
      ? `not enforcing ${expectation.id}`
      : `enforcing ${expectation.id}@${Math.max(...versions)}`;
  }
  if (versions.length > 0) return `still enforcing ${expectation.id}@${Math.max(...versions)}`;
  return report.at >= writtenAt ? true : "no report since the lift";
}

interface RegionState {
  confirmed: boolean;
  lagging: RegionBehind["isolates"];
  isolates: number;
}

function regionsOf(
  records: readonly IsolateRecord[],
  expectation: Expectation,
  writtenAt: number,
): Map<string, RegionState> {
  const regions = new Map<string, RegionState>();
  for (const record of records) {
    if (record.trust !== "verified") continue;
    const state = regions.get(record.region) ?? { confirmed: true, lagging: [], isolates: 0 };
    state.isolates++;
    const shows = reportShows(record, expectation, writtenAt);
    if (shows !== true) {
      state.confirmed = false;
      state.lagging.push({ isolate: record.isolate, state: shows });
    }
    regions.set(record.region, state);
  }
  return regions;
}

export async function waitForEnforcement(ctx: OpsContext, options: ConfirmOptions): Promise<ConfirmResult> {
  const empty = (reason: ConfirmResult["reason"]): ConfirmResult => ({
    ok: false,
    confirmed: [],
    behind: [],
    unverified: [],
    ...(reason ? { reason } : {}),
  });
  if (ctx.reader === undefined) return empty("no-redis");
  if (ctx.config.reportSecret === undefined) return empty("no-secret");
  const windowMs = options.windowMs ?? 30_000;
  const deadline = options.writtenAt + (options.timeoutMs ?? 60_000);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const confirmed = new Map<string, RegionConfirmation>();
  for (;;) {
    const now = ctx.now();
    const records = await ctx.reader.isolates({ sinceMs: now - windowMs });
    const regions = regionsOf(records, options.expectation, options.writtenAt);
    for (const [region, state] of regions) {
      if (!state.confirmed || confirmed.has(region)) continue;
      const confirmation = {
        region,
        afterMs: Math.max(0, now - options.writtenAt),
        isolates: state.isolates,
      };
      confirmed.set(region, confirmation);
      options.onRegion?.(confirmation);
    }
    const behind = [...regions]
      .filter(([region, state]) => !state.confirmed && !confirmed.has(region))
      .map(([region, state]) => ({ region, isolates: state.lagging }));
    const unverified = records
      .filter((r) => r.trust !== "verified")
      .map((r) => ({ member: r.member, trust: r.trust }));
    const done = regions.size > 0 && behind.length === 0;
    if (done || now >= deadline) {
      const result: ConfirmResult = { ok: done, confirmed: [...confirmed.values()], behind, unverified };
      if (!done) result.reason = regions.size === 0 && confirmed.size === 0 ? "no-isolates" : "timeout";
      return result;
    }
    await sleep(Math.min(options.pollMs ?? 500, Math.max(0, deadline - now)));
  }
}

export function describeConfirm(result: ConfirmResult, windowMs = 30_000): string[] {
  const lines: string[] = [];
  if (result.reason === "no-redis")
    return ["enforcement cannot be confirmed: no Redis configured (the isolates report there)"];
  if (result.reason === "no-secret")
    return [
      "enforcement cannot be confirmed: set CONTAINMENT_REPORT_SECRET (the deployment's report secret) to verify the isolates' reports",
    ];
  if (result.reason === "no-isolates")
    lines.push(
      `not confirmed: no isolate with a verified report was seen in the last ${windowMs / 1000} s (no traffic, or reports without the secret)`,
    );
  for (const region of result.behind)
    lines.push(
      `not confirmed in ${region.region}: ${region.isolates.map((i) => `${i.isolate} (${i.state})`).join(", ")}`,
    );
  if (result.unverified.length > 0)
    lines.push(
      `ignored ${result.unverified.length} report(s) that failed verification: ${result.unverified
        .slice(0, 5)
        .map((u) => `${u.member} (${u.trust})`)
        .join(", ")}`,
    );
  return lines;
}
