/**
 * `containment rules test`: what a proposed ruleset would do to traffic that already happened,
 * decided by the firewall's own engine (`createContainment` with the proposed document, a memory
 * store, the clock set to each request's minute), compared with what was decided then.
 *
 * Two sources:
 * - the all-decision route shapes (`shapes:<minute>`: host, shape, method, tenant, outcome, n;
 *   docs/recorded-format.md), or format 1's `traffic:<minute>` for older minutes: one synthetic
 *   request per aggregated decision, on a concrete path built from the shape (`:id` and other
 *   parameters → a placeholder the redactor turns back into `:id`, a format-1 `:tenant` → the
 *   row's tenant), on the recorded host. Aggregates hold no token, user or address, so
 *   tenant-binding rules are left out (say so) and rate limits count per tenant and route only (an
 *   estimate, labelled as one). Rows the shapes cannot place for a proposed rule (folded by a cap,
 *   an identifier-like literal against `:id`) are counted as uncertain by src/ops/exposure.ts, the
 *   evaluation the preview and the report use;
 * - recorded requests (`--requests` JSONL or HAR): each request exactly, headers included, with
 *   the responder's environment (tenant binding's secrets, the salt of the pseudonyms). Detector
 *   rules are replayed only from these: the mirror keeps no record ids, tokens or addresses, so
 *   aggregates cannot say who read which records. Detectors count in memory, exactly, per request
 *   (src/stores/detect/memory-detect.ts), and the result says who would have tripped and the
 *   highest count each detector saw: how a threshold is chosen (docs/detection.md).
 */
import { createContainment } from "../engine/firewall.js";
import type { Outcome } from "../model/decision.js";
import { type CountedKey, memoryDetectStore } from "../stores/detect/memory-detect.js";
import { memoryStore } from "../stores/memory.js";
import {
  ANY_HOST,
  SHAPE_OTHER,
  SHAPE_OVERFLOW_RESERVED,
  UNDECLARED_TENANT,
} from "../stores/mirror/layout.js";
import type { ShapeRow } from "../stores/mirror/shape-rows.js";
import { type CompiledScope, compileScope, MAY_REASONS, type MayReason } from "./exposure.js";

export interface ReplayRequest {
  method: string;
  /** Path and query, or an absolute URL. */
  url: string;
  headers?: Readonly<Record<string, string>>;
  /** When it was made (ms); default the replay's clock. */
  at?: number;
  /** What was decided then, when known (`allow`, `block`, `rate-limited`, `monitor`, `error`). */
  outcome?: string;
  /** Requests this entry stands for (aggregates). */
  n?: number;
  /** The route as recorded (aggregates), for grouping. */
  route?: string;
  tenant?: string;
  /** The recorded row itself (aggregates): what the exposure evaluation reads. */
  row?: ShapeRow;
}

export type Verdict = "blocked" | "rate-limited" | "admitted";

export interface ReplayChange {
  rule: string;
  route: string;
  method: string;
  tenant: string;
  before: Verdict | "unknown";
  after: Verdict;
  requests: number;
}

/** A key a detector would have tripped on (pseudonyms only, as `detections list` shows them). */
export interface ReplayDetection {
  detector: string;
  type: string;
  route: string;
  /** `dimension:pseudonyms`. */
  key: string;
  tenant: string | null;
  value: number;
  threshold: number;
  /** When it would have tripped (the request's time, ISO 8601). */
  at: string;
  /** What it would have done: quarantined, alert, monitor, awaiting-approval, budget-exhausted. */
  action: string;
}

/** What one detector counted over the replay: the numbers a threshold is chosen from. */
export interface ReplayDetector {
  detector: string;
  type: string;
  threshold: number;
  /** Keys it counted at all. */
  keys: number;
  /** Keys that went above the threshold. */
  tripped: number;
  /** The keys with the highest count in any one window, highest first (at most 5). */
  highest: Array<{ key: string; tenant: string | null; value: number; window: string }>;
}

export interface ReplayResult {
  source: "aggregates" | "requests";
  requests: number;
  /** Admitted before, blocked (or rate-limited) now. */
  newBlocks: number;
  newRateLimited: number;
  /** Blocked before, admitted now. */
  newlyAdmitted: number;
  /**
   * Admitted now, but a proposed rule may cover them: the recorded shapes cannot tell (folded by
   * the mirror's cardinality cap, an identifier-like literal against `:id`). An upper bound's part.
   */
  uncertain: number;
  /** Grouped by rule, route, method, tenant; only where the verdict changed (or was unknown). */
  changes: ReplayChange[];
  /** Detector trips, in order (recorded requests only). */
  detections: ReplayDetection[];
  detectors: ReplayDetector[];
  notes: string[];
}

export interface ReplayOptions {
  /** The environment the proposed rules read (tenant binding's secrets, CONTAINMENT_SALT). Default none. */
  env?: Readonly<Record<string, string | undefined>>;
}

const MAX_REPLAYED = 200_000;
const PLACEHOLDER_ID = "000000000000";

export function verdictOf(outcome: string | undefined): Verdict | "unknown" {
  if (outcome === "block") return "blocked";
  if (outcome === "rate-limited") return "rate-limited";
  if (outcome === "allow" || outcome === "monitor" || outcome === "error") return "admitted";
  return "unknown";
}

function verdictOfDecision(outcome: Outcome, failClosed: boolean): Verdict {
  if (outcome === "block" || (outcome === "error" && failClosed)) return "blocked";
  if (outcome === "rate-limited") return "rate-limited";
  return "admitted";
}

/** A concrete path for a mirrored route: the engine needs a path, the aggregate has a template. */
export function concretePath(route: string, tenant: string): string {
  const segments = route.split("/").slice(1);
  const out = segments.map((segment) => {
    // An undeclared tenant's segment was recorded as the bucket: replay it as a tenant nobody has.
    if (segment === ":tenant" || segment === UNDECLARED_TENANT)
      return tenant === "-" || tenant === UNDECLARED_TENANT ? "unknown-tenant" : encodeURIComponent(tenant);
    if (segment.startsWith(":")) return PLACEHOLDER_ID;
    if (segment === "*" || segment === "**") return "x";
    return segment;
  });
  return `/${out.join("/")}`;
}

/** The proposed document without the rules of `kind` (aggregates carry no credentials, no record ids). */
function without(document: unknown, kind: string): { document: unknown; dropped: string[] } {
  const doc = document as { rules?: Array<{ kind?: string; id?: string }> };
  const dropped = (doc.rules ?? []).filter((r) => r.kind === kind).map((r) => String(r.id));
  return {
    document: { ...doc, rules: (doc.rules ?? []).filter((r) => r.kind !== kind) },
    dropped,
  };
}

/**
 * Replays `requests` through `document` (already validated by the caller).
 *
 * @example
 * const result = await replay(proposed, requestsFromTraffic(rows), "aggregates");
 * if (result.newBlocks > 0) process.exitCode = 1;
 */
export async function replay(
  document: unknown,
  requests: readonly ReplayRequest[],
  source: ReplayResult["source"],
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const notes: string[] = [];
  let rules = document;
  if (source === "aggregates") {
    const stripped = without(document, "tenant-binding");
    const detectors = without(stripped.document, "detector");
    rules = detectors.document;
    if (stripped.dropped.length > 0)
      notes.push(
        `tenant-binding rules (${stripped.dropped.join(", ")}) are not replayed from aggregates: they need each request's token and Origin; use --requests with a recording`,
      );
    if (detectors.dropped.length > 0)
      notes.push(
        `detectors (${detectors.dropped.join(", ")}) are not replayed from aggregates: the mirror keeps no record ids, tokens or addresses, so it cannot say who read what; use --requests with a request log (docs/detection.md)`,
      );
    notes.push(
      "rate limits are estimated: aggregates carry no user or address, so every request of a tenant and route counts against one key",
    );
  }
  let clock = Date.now();
  const detect = memoryDetectStore(() => clock);
  const store = memoryStore();
  const containment = createContainment({
    rules,
    redis: { kind: "memory", create: (setup) => ({ ...store.create(setup), detect }) },
    mirror: false,
    now: () => clock,
    env: options.env ?? {},
    onReport: () => {},
  });
  // The same detectors in monitor mode, never contained: how far each key would have counted had
  // nothing stopped it (a contained key stops counting at its trip), which is what a threshold is
  // chosen from.
  const uncontained = memoryDetectStore(() => clock);
  const watcher = hasDetectors(rules)
    ? createContainment({
        rules: monitorDetectors(rules),
        redis: {
          kind: "memory",
          create: (setup) => ({ ...memoryStore().create(setup), detect: uncontained }),
        },
        mirror: false,
        now: () => clock,
        env: options.env ?? {},
        onReport: () => {},
      })
    : undefined;
  const groups = new Map<string, ReplayChange>();
  let total = 0;
  const counts = { newBlocks: 0, newRateLimited: 0, newlyAdmitted: 0, uncertain: 0 };
  const scopes = refusingScopes(document);
  const doubts = new Set<MayReason>();
  for (const request of requests) {
    const n = Math.max(1, Math.floor(request.n ?? 1));
    if (request.row && FOLDED.has(request.row.shape)) {
      // Counted without its route: no request can be replayed, only bounded.
      if (mayCover(scopes, request.row, doubts)) counts.uncertain += n;
      continue;
    }
    for (let i = 0; i < n; i++) {
      if (total >= MAX_REPLAYED) {
        notes.push(`stopped after ${MAX_REPLAYED} requests: narrow --since`);
        return {
          source,
          requests: total,
          ...counts,
          changes: sorted(groups),
          ...detectorsOf(rules, detect, uncontained),
          notes,
        };
      }
      total++;
      if (request.at !== undefined) clock = request.at;
      const url = /^https?:\/\//.test(request.url) ? request.url : `https://replay.invalid${request.url}`;
      const init = { method: request.method, headers: request.headers ?? {} };
      const { decision } = await containment.decide(new Request(url, init));
      if (watcher) await watcher.decide(new Request(url, init));
      const after = verdictOfDecision(
        decision.outcome,
        decision.outcome === "error" && decision.failMode === "closed",
      );
      const before = verdictOf(request.outcome);
      if (after === "admitted" && request.row && mayCover(scopes, request.row, doubts)) counts.uncertain++;
      if (before === after) continue;
      if (after === "blocked" && before !== "blocked") counts.newBlocks++;
      if (after === "rate-limited" && before !== "rate-limited") counts.newRateLimited++;
      if (after === "admitted" && before !== "admitted" && before !== "unknown") counts.newlyAdmitted++;
      const rule = after === "admitted" ? "(none)" : (decision.rule ?? "-");
      const route = request.route ?? decision.route ?? decision.path;
      const tenant = request.tenant ?? decision.tenant ?? "-";
      const key = [rule, route, decision.method, tenant, before, after].join("\u0000");
      const group = groups.get(key);
      if (group) group.requests++;
      else groups.set(key, { rule, route, method: decision.method, tenant, before, after, requests: 1 });
    }
  }
  if (counts.uncertain > 0)
    notes.push(
      `${counts.uncertain} recorded requests may also be covered by the proposed rules: ${[...doubts].map((why) => MAY_REASONS[why]).join("; ")}`,
    );
  if (detect.trips.length > 0)
    notes.push(
      "detectors counted each request at once; the edge counts in flushes (about every 250 ms), so a live enumerator reads a few records more past the threshold than this replay shows",
    );
  return {
    source,
    requests: total,
    ...counts,
    changes: sorted(groups),
    ...detectorsOf(rules, detect, uncontained),
    notes,
  };
}

function hasDetectors(document: unknown): boolean {
  return ((document as { rules?: Array<{ kind?: string }> }).rules ?? []).some((r) => r.kind === "detector");
}

/** The document with every detector in monitor mode (counts, never contains). */
function monitorDetectors(document: unknown): unknown {
  const doc = document as { rules?: Array<Record<string, unknown>> };
  return {
    ...doc,
    rules: (doc.rules ?? []).map((rule) => (rule.kind === "detector" ? { ...rule, mode: "monitor" } : rule)),
  };
}

/** Who would have tripped, and the highest counts per detector (every detector of the document, even silent). */
function detectorsOf(
  document: unknown,
  store: ReturnType<typeof memoryDetectStore>,
  uncontained: ReturnType<typeof memoryDetectStore>,
): Pick<ReplayResult, "detections" | "detectors"> {
  const specs = ((document as { rules?: Array<Record<string, unknown>> }).rules ?? []).filter(
    (rule) => rule.kind === "detector",
  );
  const counted = uncontained.counted();
  const keyOf = (k: { dimension: string; keyId: string }) => `${k.dimension}:${k.keyId}`;
  return {
    detections: store.trips.map((trip) => ({
      detector: trip.detector,
      type: trip.type,
      route: trip.route,
      key: keyOf(trip),
      tenant: trip.tenant ?? null,
      value: trip.value,
      threshold: trip.threshold,
      at: new Date(trip.at).toISOString(),
      action: trip.action,
    })),
    detectors: specs.map((spec) => {
      const id = String(spec.id);
      const mine: CountedKey[] = counted
        .filter((k) => k.detector === id)
        .sort((a, b) => b.value - a.value || keyOf(a).localeCompare(keyOf(b)));
      const threshold = typeof spec.threshold === "number" ? spec.threshold : 0;
      return {
        detector: id,
        type: String(spec.detect),
        threshold,
        keys: mine.length,
        tripped: new Set(store.trips.filter((t) => t.detector === id).map(keyOf)).size,
        highest: mine.slice(0, 5).map((k) => ({
          key: keyOf(k),
          tenant: k.tenant ?? null,
          value: k.value,
          window: new Date(k.window).toISOString(),
        })),
      };
    }),
  };
}

const FOLDED = new Set([SHAPE_OTHER, SHAPE_OVERFLOW_RESERVED]);

/** The proposed document's rules that can refuse a request, as exposure scopes. */
function refusingScopes(document: unknown): CompiledScope[] {
  const rules = (document as { rules?: Array<{ kind?: string; match?: unknown }> }).rules ?? [];
  return rules
    .filter((rule) => rule.kind !== "headers" && typeof rule.match === "object" && rule.match !== null)
    .map((rule) => compileScope(rule.match as Parameters<typeof compileScope>[0]));
}

/** Some proposed rule may cover the row, and the row cannot say whether. */
function mayCover(scopes: readonly CompiledScope[], row: ShapeRow, doubts: Set<MayReason>): boolean {
  for (const scope of scopes) {
    const reach = scope.reach(row);
    if (reach.reach !== "may") continue;
    if (reach.why) doubts.add(reach.why);
    return true;
  }
  return false;
}

function sorted(groups: Map<string, ReplayChange>): ReplayChange[] {
  return [...groups.values()].sort(
    (a, b) =>
      a.rule.localeCompare(b.rule) ||
      b.requests - a.requests ||
      a.route.localeCompare(b.route) ||
      a.tenant.localeCompare(b.tenant),
  );
}

/** Requests standing for the traffic aggregates' rows (one entry per row, `n` decisions). */
export function requestsFromTraffic(
  rows: ReadonlyArray<{
    minute: number;
    route: string;
    method: string;
    tenant: string;
    outcome: string;
    n: number;
  }>,
): ReplayRequest[] {
  return [...rows]
    .sort((a, b) => a.minute - b.minute)
    .map((row) => ({
      method: row.method,
      url: concretePath(row.route, row.tenant),
      at: row.minute * 60_000,
      outcome: row.outcome,
      n: row.n,
      route: row.route,
      tenant: row.tenant,
    }));
}

/** Requests standing for route-shape rows (one entry per row, `n` decisions), both formats. */
export function requestsFromShapes(rows: readonly ShapeRow[]): ReplayRequest[] {
  return [...rows]
    .sort((a, b) => a.minute - b.minute)
    .map((row) => {
      const path = concretePath(row.shape, row.tenant);
      const host = row.host === ANY_HOST ? "replay.invalid" : row.host;
      return {
        method: row.method,
        url: `https://${host}${path}`,
        at: row.minute * 60_000,
        outcome: row.outcome,
        n: row.n,
        route: row.shape,
        tenant: row.tenant,
        row,
      };
    });
}
