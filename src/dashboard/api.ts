/**
 * The dashboard's JSON API, version 1: what the page draws, and what a team may feed its own tools.
 * Every field is something the mirror (or Edge Config) already holds; nothing here is computed from
 * request bodies, so no PHI can appear by construction. Additive changes keep `v: 1`; a removed or
 * renamed field would be `v: 2` under `/api/v2/`.
 */

import type { Verdict } from "./verdict.js";

export type { AdmittedEntry, RegionVerdict, Verdict } from "./verdict.js";

export const API_VERSION = 1;

/** Outcomes the per-minute chart plots: what responders watch fall to zero. */
export const CHARTED_OUTCOMES = ["block", "rate-limited"] as const;

export interface Snapshot {
  v: 1;
  /** Server clock (ms since the epoch) when this snapshot was read. */
  generatedAt: number;
  /** Redis key prefix read. */
  prefix: string;
  /** Whole minutes since the epoch, oldest first: the x axis of every series. */
  minutes: number[];
  /**
   * Blocked and rate-limited decisions per minute per rule (`counts:<minute>`), then requests
   * admitted on protected routes (`outcome: "admitted"`): in the open incident's declared scope,
   * or on the active kill switches' routes when it declares none. The last minute is the current,
   * partial one (`generatedAt` says how far into it).
   */
  series: SeriesEntry[];
  /** Has the leak stopped? Measured against the open incident's declared scope; null without one. */
  verdict: Verdict | null;
  /** Kill switches: from Edge Config when the dashboard can read it, else as isolates report them. */
  switches: SwitchEntry[];
  switchesSource: "edge-config" | "isolate-reports" | "none";
  /** Which ruleset digest each region enforces, and since when. */
  regions: RegionEntry[];
  /** Most-blocked identities over `topWindowMinutes` (tenants, user pseudonyms, /24 or /48 networks). */
  top: { tenant: TopEntry[]; user: TopEntry[]; ip: TopEntry[] };
  topWindowMinutes: number;
  quarantines: QuarantineEntry[];
  /**
   * What the edge's detectors tripped on, newest first (docs/detection.md): what each counted, when
   * it tripped, what it did and who released it. Keys are pseudonyms; nothing raw.
   */
  detections: DetectionEntry[];
  /** Newest events first (the `events` stream, already redacted by the edge). */
  events: EventEntry[];
  /** Rules documents the edge refused (`rules-invalid` source events). */
  rejectedPushes: RejectedPush[];
  /**
   * Evidence accounting: `drops` decisions missing from the counts, `eventDrops` counted decisions
   * whose event could not be kept, `gap` decisions isolates made that never reached Redis.
   */
  mirror: { drops: number; eventDrops: number; gap: number };
  incident: IncidentEntry | null;
  audit: AuditState;
  /** Parts that could not be read (deadline, missing key type…): shown, never hidden. */
  problems: string[];
}

export interface SeriesEntry {
  /** The rule, or for admitted requests what they were measured against (`INC-2041 scope`). */
  rule: string;
  outcome: (typeof CHARTED_OUTCOMES)[number] | "admitted";
  /** One count per entry of `minutes`. */
  counts: number[];
  total: number;
}

export interface SwitchEntry {
  id: string;
  version: number;
  path: string;
  methods?: string[];
  tenants?: string[];
  hosts?: string[];
  status: number;
  monitor: boolean;
  incident?: string;
  reason?: string;
  by?: string;
  at?: string;
  expiresAt?: string;
  /** ms until `expiresAt`; negative once expired (still present in Edge Config); absent without expiry. */
  msLeft?: number;
  state: "active" | "expiring" | "expired";
}

export interface RegionEntry {
  region: string;
  /** The digest most isolates of the region report; `digests` lists all of them. */
  digest: string;
  digests: Array<{ digest: string; isolates: number }>;
  /** Earliest report time (ms) of the current digest in this region: propagation time of a flip. */
  since: number;
  lastSeen: number;
  isolates: number;
  /** Reports whose MAC checked out with the deployment's report secret (0 when the dashboard has none). */
  verified: number;
  switches: string[];
  source: "isolates" | "enforcing";
}

export interface TopEntry {
  id: string;
  blocked: number;
}

export interface QuarantineEntry {
  dimension: string;
  id: string;
  /** The rule of a rule-scoped quarantine. */
  rule?: string;
  /** The tenant the quarantined identity belongs to, as events name it (the id is a keyed pseudonym). */
  tenant?: string;
  /** Seconds until the quarantine lifts by itself; -1 without expiry. */
  ttlSeconds: number;
}

export interface DetectionEntry {
  id: string;
  detector: string;
  /** enumeration, honeytoken, probing or surge. */
  type: string;
  /** The route template it counted on. */
  route: string;
  /** `dimension:pseudonyms` (`tenant+user:…`), never a raw subject or address. */
  key: string;
  tenant?: string;
  /** Distinct records (enumeration), requests (surge), refusals (probing) or decoy hits, in the window. */
  value: number;
  threshold: number;
  windowMs: number;
  /** When it tripped (ms). */
  at: number;
  /** What the edge did: quarantined, alert, monitor, awaiting-approval, budget-exhausted, paused-suspected-misconfiguration. */
  action: string;
  state: "open" | "released";
  releasedBy?: string;
  releasedAt?: number;
  approvedBy?: string;
}

export interface EventEntry {
  id: string;
  /** Time of the (last) decision, ms. */
  ts: number;
  /** Decisions this entry stands for (> 1: an aggregate of repeated blocks). */
  count: number;
  outcome: string;
  rule?: string;
  kind?: string;
  status?: number;
  method?: string;
  path?: string;
  route?: string;
  tenant?: string;
  user?: string;
  ip?: string;
  region?: string;
  reason?: string;
  incident?: string;
}

export interface RejectedPush {
  id: string;
  ts: number;
  region?: string;
  reason: string;
}

export interface IncidentEntry {
  id: string;
  title?: string;
  discovered?: number;
  opened?: number;
  dataClasses: string[];
  /** No HIPAA or GDPR role was given when the incident was opened, so no clock can be computed. */
  rolesMissing?: boolean;
  /** The declared exposure scope the verdict is measured against (`incident open --scope-route`). */
  scope?: { routes: string[]; tenants?: string[]; methods?: string[] };
  /** Regulatory clocks started by the discovery time, soonest first. */
  clocks: Array<{ name: string; deadline: number; msLeft: number; role?: string }>;
  /** Obligations of the incident's roles with no computable deadline, and why (e.g. no contract term entered). */
  undated?: Array<{ name: string; role: string; basis: string }>;
}

export interface AuditState {
  /** Entries in the `audit` stream. */
  length: number;
  /** `audit:head` (hash of the newest entry), if any. */
  head?: string;
  /** Newest entries, newest first (actor, action, phase, incident, time). */
  recent: Array<{
    seq?: number;
    ts?: string;
    actor?: string;
    action?: string;
    phase?: string;
    incident?: string;
    key?: string;
  }>;
  /** `verified` only when the chain was checked link by link; `unverified` when not checked here. */
  state: "verified" | "broken" | "unverified" | "empty";
  detail?: string;
}

/** `GET api/v1`: the index a tool can discover the API from. */
export const API_INDEX = {
  v: API_VERSION,
  endpoints: {
    "GET api/v1/snapshot":
      "the whole dashboard state as one JSON object (Snapshot, documented in docs/dashboard.md)",
    "GET api/v1/stream": "text/event-stream: `snapshot` events with the same JSON, every few seconds",
    "GET api/v1/events?limit=N": "newest mirrored events, newest first (N ≤ 500, default 100)",
  },
} as const;
