/**
 * `--wait`: confirms THE CHANGE THIS COMMAND MADE, region by region, from the isolates' MAC'd
 * enforcement reports (docs/contracts.md). A region is confirmed when every isolate seen there in
 * the last `windowMs` reports it: this switch at this version (or a later one), absent after a lift
 * (in a report made after the lift), or this ruleset digest, in a report made after the write. A
 * report that fails the MAC (written with the Redis token alone) or carries none is never a
 * confirmation, and it keeps its region unconfirmed: skipping it would let whoever holds the Redis
 * token hide a lagging isolate by overwriting its report. A region seen during the wait whose
 * isolates all stop reporting before confirming is named, never dropped from the verdict.
 */

import { ISOLATE_REPORT_WINDOW_MS } from "../model/defaults.js";
import type { IsolateRecord } from "../stores/mirror/reader-types.js";
import type { OpsContext } from "./context.js";
import { failureCause } from "./errors.js";

export type Expectation =
  | { kind: "present"; id: string; version: number }
  | { kind: "absent"; id: string }
  | {
      kind: "digest";
      digest: string;
      /**
       * The digest the change has now: a kill switch flipped after a rules push changes the digest
       * isolates report without undoing the push. Asked when a report shows an unknown digest.
       */
      current?: () => Promise<string | undefined>;
    };

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
  /** Why it was not confirmed everywhere. */
  reason?: "no-redis" | "no-secret" | "no-isolates" | "timeout" | "interrupted" | "redis-unavailable";
  /** With `redis-unavailable`: what Redis did, e.g. "is unreachable" (never the client's message). */
  redis?: string;
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
  /** Ends the wait early (a responder's Ctrl-C): the result says what was confirmed by then. */
  signal?: AbortSignal;
  /**
   * How long reads of the isolates' reports may fail in a row before the wait ends as
   * `redis-unavailable` (a blip is retried at the next poll); default 5 s, never past the timeout.
   */
  unreachableMs?: number;
}

/** A pause that ends at once when the wait is interrupted. */
function pause(
  sleep: (ms: number) => Promise<void>,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (signal === undefined) return sleep(ms);
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    signal.addEventListener("abort", () => resolve(), { once: true });
    sleep(ms).then(resolve, resolve);
  });
}

/** Why a wait ended unconfirmed: interrupted, nobody reported, or time ran out on those behind. */
function whyUnconfirmed(interrupted: boolean, regionsSeen: number): NonNullable<ConfirmResult["reason"]> {
  if (interrupted) return "interrupted";
  return regionsSeen === 0 ? "no-isolates" : "timeout";
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
  accepted?: ReadonlySet<string>,
): true | string {
  const report = record.report;
  if (report === undefined) return "no report";
  // A report older than the write proves nothing about it (an id lifted and created again starts at
  // version 1 again, so an old `id@1` may be a different switch).
  if (report.at < writtenAt) return "no report since the change";
  const tokens = [...report.switches, ...report.fast];
  if (expectation.kind === "digest")
    return report.digest === expectation.digest || accepted?.has(report.digest) === true
      ? true
      : `digest ${report.digest}`;
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
  return true;
}

/** What an isolate's record shows: the report's verdict when it verified, else why it cannot count. */
function recordShows(
  record: IsolateRecord,
  expectation: Expectation,
  writtenAt: number,
  accepted: ReadonlySet<string>,
): true | string {
  if (record.trust === "verified") return reportShows(record, expectation, writtenAt, accepted);
  return record.trust === "expired" ? "report deleted" : `report failed verification (${record.trust})`;
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
  accepted: ReadonlySet<string>,
): Map<string, RegionState> {
  const regions = new Map<string, RegionState>();
  for (const record of records) {
    const state = regions.get(record.region) ?? { confirmed: true, lagging: [], isolates: 0 };
    state.isolates++;
    const shows = recordShows(record, expectation, writtenAt, accepted);
    if (shows !== true) {
      state.confirmed = false;
      state.lagging.push({ isolate: record.isolate, state: shows });
    }
    regions.set(record.region, state);
  }
  return regions;
}

/**
 * Regions not confirmed yet, as last seen. A region missing from this poll's window keeps its last
 * state, marked as gone quiet: its isolates stopped reporting (no traffic, or recycled) before they
 * showed the change, which proves nothing either way.
 */
function updatePending(
  pending: Map<string, RegionBehind>,
  regions: Map<string, RegionState>,
  confirmed: Map<string, RegionConfirmation>,
): void {
  for (const [region, state] of regions)
    if (!confirmed.has(region)) pending.set(region, { region, isolates: state.lagging });
  for (const [region, behind] of pending) {
    if (confirmed.has(region)) pending.delete(region);
    else if (!regions.has(region))
      pending.set(region, {
        region,
        isolates: behind.isolates.map(({ isolate, state }) => ({
          isolate,
          state: state.startsWith("stopped reporting") ? state : `stopped reporting (last: ${state})`,
        })),
      });
  }
}

/** Digests that show a rules push besides the one computed at the push, re-derived at most every 2 s. */
function acceptedDigests(expectation: Expectation) {
  const accepted = new Set<string>(expectation.kind === "digest" ? [expectation.digest] : []);
  let askedAt = Number.NEGATIVE_INFINITY;
  return {
    accepted,
    async refresh(records: readonly IsolateRecord[], now: number): Promise<void> {
      if (expectation.kind !== "digest" || expectation.current === undefined || now - askedAt < 2_000) return;
      const unknown = records.some(
        (r) => r.trust === "verified" && r.report !== undefined && !accepted.has(r.report.digest),
      );
      if (!unknown) return;
      askedAt = now;
      // An unreachable API during the wait only means no new digest this time.
      const digest = await expectation.current().catch(() => undefined);
      if (digest !== undefined) accepted.add(digest);
    },
  };
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
  const windowMs = options.windowMs ?? ISOLATE_REPORT_WINDOW_MS;
  const deadline = options.writtenAt + (options.timeoutMs ?? 60_000);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const confirmed = new Map<string, RegionConfirmation>();
  const pending = new Map<string, RegionBehind>();
  const digests = acceptedDigests(options.expectation);
  const unreachableMs = options.unreachableMs ?? 5_000;
  let failingSince: number | undefined;
  for (;;) {
    const now = ctx.now();
    let records: IsolateRecord[];
    try {
      records = await ctx.reader.isolates({ sinceMs: now - windowMs });
      failingSince = undefined;
    } catch (error) {
      // Redis down: the isolates cannot report there either. Retried until it has failed for
      // `unreachableMs` in a row (or the timeout), then said in one line, never thrown.
      failingSince ??= now;
      const interrupted = options.signal?.aborted === true;
      if (now - failingSince >= unreachableMs || now >= deadline || interrupted)
        return {
          ok: false,
          confirmed: [...confirmed.values()],
          behind: [...pending.values()],
          unverified: [],
          reason: interrupted ? "interrupted" : "redis-unavailable",
          redis: failureCause(error),
        };
      await pause(sleep, Math.min(options.pollMs ?? 500, Math.max(0, deadline - now)), options.signal);
      continue;
    }
    await digests.refresh(records, now);
    const regions = regionsOf(records, options.expectation, options.writtenAt, digests.accepted);
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
    updatePending(pending, regions, confirmed);
    const done = confirmed.size > 0 && pending.size === 0;
    const interrupted = options.signal?.aborted === true;
    if (done || now >= deadline || interrupted) {
      const unverified = records
        .filter((r) => r.trust !== "verified")
        .map((r) => ({ member: r.member, trust: r.trust }));
      const behind = [...pending.values()];
      const result: ConfirmResult = { ok: done, confirmed: [...confirmed.values()], behind, unverified };
      if (!done) result.reason = whyUnconfirmed(interrupted, confirmed.size + pending.size);
      return result;
    }
    await pause(sleep, Math.min(options.pollMs ?? 500, Math.max(0, deadline - now)), options.signal);
  }
}

export function describeConfirm(result: ConfirmResult, windowMs = ISOLATE_REPORT_WINDOW_MS): string[] {
  const lines: string[] = [];
  if (result.reason === "no-redis")
    return ["enforcement cannot be confirmed: no Redis configured (the isolates report there)"];
  if (result.reason === "redis-unavailable")
    return [
      `not confirmed: cannot read the isolates' reports (Redis ${result.redis ?? "is unreachable"}); the change stays written: \`containment status\` shows the regions once Redis answers`,
    ];
  if (result.reason === "no-secret")
    return [
      "enforcement cannot be confirmed: set CONTAINMENT_REPORT_SECRET (the deployment's report secret) to verify the isolates' reports",
    ];
  if (result.reason === "interrupted")
    lines.push(
      "stopped waiting (Ctrl-C): the change is written and in force where confirmed; `containment status` shows the regions",
    );
  if (result.reason === "no-isolates")
    lines.push(
      `not confirmed: no isolate reported in the last ${windowMs / 1000} s (no traffic reached the middleware, or it has no Redis)`,
    );
  for (const region of result.behind)
    lines.push(
      `not confirmed in ${region.region}: ${region.isolates.map((i) => `${i.isolate} (${i.state})`).join(", ")}`,
    );
  if (result.unverified.length > 0)
    lines.push(
      `${result.unverified.length} report(s) failed verification, not accepted as confirmations: ${result.unverified
        .slice(0, 5)
        .map((u) => `${u.member} (${u.trust})`)
        .join(", ")} (a report is only a confirmation with the deployment's CONTAINMENT_REPORT_SECRET MAC)`,
    );
  return lines;
}
