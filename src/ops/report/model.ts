/**
 * The incident report, as data (`containment report --format json` prints exactly this; its JSON
 * Schema is docs/report.schema.json, version in `schemaVersion`). The Markdown and HTML renderers
 * only format it, so the three formats always say the same thing.
 */
import type { CopyVersion, TamperFinding } from "../incident-versions.js";
import type { GdprRole, HipaaRole, RegulatoryClock } from "./clocks.js";
import type { NarrativeInputs, NarrativeSection } from "./narrative.js";

export const REPORT_SCHEMA_VERSION = 1;
export const REPORT_SCHEMA_ID = "https://edge-containment.dev/schemas/report-v1.json";

/** The incident as recorded: what `incident open` entered plus the narrative (narrative.ts). */
export interface IncidentRecord extends NarrativeInputs {
  id: string;
  title: string;
  /** Discovery time the responder entered (UTC ms). */
  discovered: number;
  opened: number;
  closed?: number | undefined;
  dataClasses: string[];
  hipaaRole?: HipaaRole | undefined;
  gdprRole?: GdprRole | undefined;
  /** Business associate agreement notice term, e.g. `10d`. */
  baaTerm?: string | undefined;
  /** Data processing agreement notice term, e.g. `24h`. */
  dpaTerm?: string | undefined;
  /** Responder inputs; never derived from request counts. */
  individuals?: number | undefined;
  maxStateResidents?: number | undefined;
  /**
   * The declared exposure scope (what the incident is about), entered when it is opened: path
   * patterns, tenants and methods (empty: every tenant / method). The dashboard's verdict is
   * measured against it, never against the kill switches' own scope (docs/dashboard.md).
   */
  scopeRoutes?: string[] | undefined;
  scopeTenants?: string[] | undefined;
  scopeMethods?: string[] | undefined;
  openedBy?: string | undefined;
  closedBy?: string | undefined;
}

/** An audit entry as cli's chain stores it (docs/contracts.md), with its hash. */
export interface AuditView {
  v?: number;
  seq: number;
  ts: number | string;
  redisTime?: number | string | null;
  actor?: string | null;
  claimedActor?: string | null;
  action: string;
  phase: "intent" | "result" | string;
  incident?: string | null;
  reason?: string | null;
  key?: string | null;
  before?: unknown;
  after?: unknown;
  prev?: string | null;
  hash?: string;
  [extra: string]: unknown;
}

export interface AuditVerification {
  ok: boolean;
  head: string | null;
  count: number;
  firstBreak?: { seq?: number; index?: number; reason: string } | undefined;
  anchor?: string | null | undefined;
}

/** One minute's hash (`counts:<minute>`, `shapes:<minute>` or `traffic:<minute>`). */
export interface MinuteFields {
  minute: number;
  fields: Record<string, number>;
}

/** A region confirming a switch at a version (from `--wait`, recorded into the incident). */
export interface Confirmation {
  switchId: string;
  version: number;
  /** `present` after a kill/extend, `absent` after a lift. */
  state: "present" | "absent";
  region: string;
  at: number;
  /** The isolates that reported it. */
  isolates?: number | undefined;
}

export interface QuarantineRecord {
  dimension: string;
  id: string;
  rule?: string | undefined;
  firstSeen: number;
  until?: number | undefined;
}

/** A mirrored event, fields as in the `events` stream (pseudonyms only). */
export type EventRecord = Record<string, string>;

/** A detection the edge made (src/ops/report/detections.ts): attested in the audit chain, or live. */
export interface DetectionEvidence {
  id: string;
  detector: string;
  type: string;
  route: string;
  /** `dimension:pseudonyms`, never raw. */
  key: string;
  tenant: string | null;
  value: number;
  threshold: number;
  windowMs: number;
  action: string;
  /** When it tripped (UTC ms). */
  at: number;
  releasedBy: string | null;
  releasedAt: number | null;
  approvedBy: string | null;
  /** The `detection` audit entry that entered it; null while no responder command has read it. */
  auditSeq: number | null;
}

/** Route pattern → data classes, from the rules document (`dataClasses` at the top level). */
export type DataClassMap = Readonly<Record<string, readonly string[]>>;

export interface ReportInputs {
  incident: IncidentRecord;
  since: number;
  until: number;
  generatedAt: number;
  audit: AuditView[];
  verification: AuditVerification;
  counts: MinuteFields[];
  /** `shapes:<minute>` copies (format 2); a minute without them is read from `traffic`. */
  shapes?: MinuteFields[];
  /** `traffic:<minute>` copies (format 1, minutes written before shapes). */
  traffic: MinuteFields[];
  events: EventRecord[];
  confirmations: Confirmation[];
  quarantines: QuarantineRecord[];
  /** Detections that tripped in the window, oldest first (detections.ts). */
  detections?: DetectionEvidence[];
  /** The document's route map plus every rule's patterns with its `dataClasses`. */
  dataClassMap: DataClassMap;
  /** The incident copy's versions and what the live keys contradicted (incident-versions.ts). */
  preserved?: { versions: readonly CopyVersion[]; tampering: readonly TamperFinding[] } | undefined;
}

export type TimelineKind =
  | "incident-opened"
  | "discovered"
  | "earliest-anomaly"
  | "detection"
  | "kill"
  | "lift"
  | "extend"
  | "rules-push"
  | "quarantine-release"
  | "confirmed"
  | "notification-decision"
  | "notified"
  | "signed-off"
  | "incident-closed"
  | "other";

export interface TimelineEntry {
  at: string;
  atMs: number;
  kind: TimelineKind;
  summary: string;
  actor?: string | undefined;
  claimedActor?: string | undefined;
  reason?: string | undefined;
  target?: string | undefined;
  region?: string | undefined;
  auditSeq?: number | undefined;
}

export interface FlipSummary {
  switchId: string;
  version: number;
  action: "kill" | "extend" | "lift";
  writtenAt: string;
  writtenAtMs: number;
  scope: { path: string | string[]; methods?: string[]; tenants?: string[]; hosts?: string[] } | null;
  dataClasses: string[];
  confirmations: Array<{ region: string; at: string; secondsAfterWrite: number }>;
}

/**
 * `kill-minute`: the minute the first kill switch was written in (part before, part during);
 * `lift-minute`: the minute the last lift was written in (part during, part after).
 */
export type Phase = "before" | "kill-minute" | "during" | "lift-minute" | "after";

export interface RuleMinute {
  minute: string;
  minuteMs: number;
  phase: Phase;
  rule: string;
  blocked: number;
  rateLimited: number;
  monitored: number;
  allowed: number;
  errors: number;
}

export interface ReachedRow {
  switchId: string;
  route: string;
  method: string;
  tenant: string;
  requests: number;
}

export interface AffectedRow {
  name: string;
  /** Requests certainly inside (blocked + admitted). */
  requests: number;
  blocked: number;
  admitted: number;
  /** Requests the recorded shapes cannot place inside or outside (folded, host not recorded…). */
  uncertain: number;
}

/** The first minute a rule's non-allowed decisions rose above the look-back's normal (anomaly.ts). */
export interface EarliestAnomaly {
  at: string;
  rule: string;
  outcome: string;
  /** Decisions of that rule and outcome in that minute. */
  count: number;
  /** The look-back's normal minute for it (median) and the threshold it exceeded. */
  normal: number;
  threshold: number;
  basis: string;
}

export interface ControlReference {
  section: string;
  controls: string[];
}

export interface Report {
  $schema: typeof REPORT_SCHEMA_ID;
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  generatedAt: string;
  window: { since: string; until: string };
  incident: {
    id: string;
    title: string;
    discovered: string;
    opened: string;
    closed: string | null;
    dataClasses: string[];
    hipaaRole: HipaaRole | null;
    gdprRole: GdprRole | null;
    individuals: number | null;
    earliestAnomaly: EarliestAnomaly | null;
    /** The first detection in the window, offered as evidence for the discovery time (never imposed). */
    firstDetection: {
      id: string;
      at: string;
      detector: string;
      type: string;
      action: string;
      /** Entered discovery time minus the trip, in seconds: positive when the detector saw it first. */
      secondsBeforeDiscovery: number;
    } | null;
  };
  narrative: NarrativeSection;
  scope: { establishes: string[]; doesNotEstablish: string[] };
  timeline: TimelineEntry[];
  containment: {
    firstKillWrittenAt: string | null;
    firstConfirmedAt: string | null;
    secondsDiscoveryToFirstKill: number | null;
    secondsDiscoveryToFirstConfirmed: number | null;
    flips: FlipSummary[];
  };
  decisions: {
    perMinute: RuleMinute[];
    totals: Record<
      Phase,
      { blocked: number; rateLimited: number; monitored: number; allowed: number; errors: number }
    >;
  };
  reachedBeforeContainment: {
    /** Admitted requests certainly inside a switch's scope. */
    total: number;
    /** `total` plus admitted requests that may be (equal when the shapes tell exactly). */
    upper: number;
    /** Why `upper` exceeds `total`. */
    bounds: string[];
    rows: ReachedRow[];
  };
  affected: {
    tenants: AffectedRow[];
    routes: AffectedRow[];
    dataClasses: AffectedRow[];
    /** Requests in the window counted without their route (cardinality caps). */
    trafficOverflow: number;
    /** Some minutes predate recorded format 2: counted by the pattern of the rule that matched. */
    formatOneMinutes: boolean;
  };
  quarantines: Array<{
    dimension: string;
    id: string;
    rule: string | null;
    firstSeen: string;
    releasedAt: string | null;
    releasedBy: string | null;
  }>;
  /** What the edge's detectors tripped on in the window, oldest first (docs/detection.md). */
  detections: Array<{
    id: string;
    detector: string;
    type: string;
    route: string;
    key: string;
    tenant: string | null;
    value: number;
    threshold: number;
    windowSeconds: number;
    trippedAt: string;
    action: string;
    releasedAt: string | null;
    releasedBy: string | null;
    approvedBy: string | null;
    /** The audit entry that entered it (attested by the edge); null when not entered yet. */
    auditSeq: number | null;
  }>;
  clocks: RegulatoryClock[];
  controls: ControlReference[];
  /** The preserved copy the numbers come from (docs/contracts.md, "Preserved evidence"). */
  evidence: {
    versions: number;
    /** Content hash of the latest version (entered in the audit chain), null before the first copy. */
    hash: string | null;
    /** False when a refresh found the live keys contradicting the copy. */
    intact: boolean;
    tampering: string[];
  };
  audit: {
    head: string | null;
    entries: number;
    verified: boolean;
    firstBreak: string | null;
    anchor: string | null;
    unmatchedChanges: string[];
  };
}
