/**
 * The report's JSON format (v1), once, as a valibot schema: `docs/report.schema.json` is generated
 * from it (`npm run schema`), and tests check every report the code builds against it. A field is
 * only ever added in v1; renaming or removing one is v2 (a new `$schema` id).
 */
import * as v from "valibot";
import { REPORT_SCHEMA_ID, REPORT_SCHEMA_VERSION } from "./model.js";

const TIME = v.pipe(
  v.string(),
  v.regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
  v.description("UTC, whole seconds"),
);
const COUNT = v.pipe(v.number(), v.integer(), v.minValue(0));
const SECONDS = v.nullable(v.pipe(v.number(), v.integer()));
const nullableString = v.nullable(v.string());
const PHASE = v.picklist(["before", "kill-minute", "during", "lift-minute", "after"]);
const OUTCOMES = {
  blocked: COUNT,
  rateLimited: COUNT,
  monitored: COUNT,
  allowed: COUNT,
  errors: COUNT,
};
const AFFECTED = v.array(
  v.strictObject({ name: v.string(), requests: COUNT, blocked: COUNT, admitted: COUNT, uncertain: COUNT }),
);
const SCOPE = v.strictObject({
  path: v.union([v.string(), v.array(v.string())]),
  methods: v.optional(v.array(v.string())),
  tenants: v.optional(v.array(v.string())),
  hosts: v.optional(v.array(v.string())),
});

const TIMELINE_ENTRY = v.strictObject({
  at: TIME,
  atMs: v.number(),
  kind: v.picklist([
    "incident-opened",
    "discovered",
    "earliest-anomaly",
    "detection",
    "kill",
    "lift",
    "extend",
    "rules-push",
    "quarantine-release",
    "confirmed",
    "notification-decision",
    "notified",
    "signed-off",
    "incident-closed",
    "other",
  ]),
  summary: v.string(),
  actor: v.optional(v.string()),
  claimedActor: v.optional(v.string()),
  reason: v.optional(v.string()),
  target: v.optional(v.string()),
  region: v.optional(v.string()),
  auditSeq: v.optional(v.number()),
});

const CLOCK = v.strictObject({
  id: v.string(),
  framework: v.picklist(["HIPAA", "GDPR"]),
  citation: v.string(),
  role: v.string(),
  recipient: v.string(),
  requirement: v.string(),
  deadline: v.nullable(TIME),
  secondsFromDiscovery: SECONDS,
  applicability: v.picklist(["applies", "conditional", "not-applicable"]),
  basis: v.string(),
});

const TEXT = v.nullable(v.string());

/** What people entered (narrative.ts); each missing field is one of `gaps`, with its command. */
const NARRATIVE = v.strictObject({
  version: v.pipe(v.number(), v.integer(), v.minValue(1)),
  replaces: v.nullable(v.strictObject({ version: COUNT, sha256: v.string() })),
  text: v.array(
    v.strictObject({
      field: v.string(),
      label: v.string(),
      regime: v.nullable(v.picklist(["hipaa", "gdpr"])),
      value: TEXT,
      gap: TEXT,
    }),
  ),
  discovery: v.strictObject({
    at: TIME,
    decidedBy: TEXT,
    reason: TEXT,
    earliestEvidence: v.nullable(TIME),
    gap: TEXT,
  }),
  affected: v.strictObject({
    individuals: v.nullable(COUNT),
    individualsBasis: TEXT,
    records: v.nullable(COUNT),
    recordsBasis: TEXT,
    maxStateResidents: v.nullable(COUNT),
    individualsGap: TEXT,
    recordsGap: TEXT,
    maxStateResidentsGap: TEXT,
  }),
  gdprDocumentation: v.nullable(v.strictObject({ facts: TEXT, effects: TEXT, remedialAction: TEXT })),
  decisions: v.array(
    v.strictObject({
      regime: v.picklist(["hipaa", "gdpr", "state", "contract", "other"]),
      decision: v.picklist(["notify", "do-not-notify"]),
      decidedBy: v.string(),
      decidedAt: TIME,
      reason: v.string(),
    }),
  ),
  notices: v.array(v.strictObject({ at: TIME, to: v.string(), via: v.string(), by: v.string(), note: TEXT })),
  signoffs: v.array(
    v.strictObject({
      version: COUNT,
      approver: v.string(),
      role: v.string(),
      signedAt: TIME,
      kid: v.string(),
      sha256: v.string(),
      current: v.boolean(),
    }),
  ),
  decisionGaps: v.array(v.string()),
  noticesGap: TEXT,
  signoffGap: TEXT,
  gaps: v.array(v.strictObject({ field: v.string(), what: v.string(), command: v.string() })),
});

export const REPORT_SCHEMA = v.strictObject({
  $schema: v.literal(REPORT_SCHEMA_ID),
  schemaVersion: v.literal(REPORT_SCHEMA_VERSION),
  generatedAt: TIME,
  window: v.strictObject({ since: TIME, until: TIME }),
  incident: v.strictObject({
    id: v.string(),
    title: v.string(),
    discovered: TIME,
    opened: TIME,
    closed: v.nullable(TIME),
    dataClasses: v.array(v.string()),
    hipaaRole: v.nullable(v.picklist(["covered-entity", "business-associate"])),
    gdprRole: v.nullable(v.picklist(["controller", "processor"])),
    individuals: v.nullable(COUNT),
    earliestAnomaly: v.nullable(
      v.strictObject({
        at: TIME,
        rule: v.string(),
        outcome: v.string(),
        count: COUNT,
        normal: v.number(),
        threshold: v.number(),
        basis: v.string(),
      }),
    ),
    firstDetection: v.nullable(
      v.strictObject({
        id: v.string(),
        at: TIME,
        detector: v.string(),
        type: v.string(),
        action: v.string(),
        secondsBeforeDiscovery: v.number(),
      }),
    ),
  }),
  narrative: NARRATIVE,
  scope: v.strictObject({ establishes: v.array(v.string()), doesNotEstablish: v.array(v.string()) }),
  timeline: v.array(TIMELINE_ENTRY),
  containment: v.strictObject({
    firstKillWrittenAt: v.nullable(TIME),
    firstConfirmedAt: v.nullable(TIME),
    secondsDiscoveryToFirstKill: SECONDS,
    secondsDiscoveryToFirstConfirmed: SECONDS,
    flips: v.array(
      v.strictObject({
        switchId: v.string(),
        version: COUNT,
        action: v.picklist(["kill", "extend", "lift"]),
        writtenAt: TIME,
        writtenAtMs: v.number(),
        scope: v.nullable(SCOPE),
        dataClasses: v.array(v.string()),
        confirmations: v.array(
          v.strictObject({ region: v.string(), at: TIME, secondsAfterWrite: v.number() }),
        ),
      }),
    ),
  }),
  decisions: v.strictObject({
    perMinute: v.array(
      v.strictObject({ minute: TIME, minuteMs: v.number(), phase: PHASE, rule: v.string(), ...OUTCOMES }),
    ),
    totals: v.strictObject({
      before: v.strictObject(OUTCOMES),
      "kill-minute": v.strictObject(OUTCOMES),
      during: v.strictObject(OUTCOMES),
      "lift-minute": v.strictObject(OUTCOMES),
      after: v.strictObject(OUTCOMES),
    }),
  }),
  reachedBeforeContainment: v.strictObject({
    total: COUNT,
    upper: COUNT,
    bounds: v.array(v.string()),
    rows: v.array(
      v.strictObject({
        switchId: v.string(),
        route: v.string(),
        method: v.string(),
        tenant: v.string(),
        requests: COUNT,
      }),
    ),
  }),
  affected: v.strictObject({
    tenants: AFFECTED,
    routes: AFFECTED,
    dataClasses: AFFECTED,
    trafficOverflow: COUNT,
    formatOneMinutes: v.boolean(),
  }),
  quarantines: v.array(
    v.strictObject({
      dimension: v.string(),
      id: v.string(),
      rule: nullableString,
      firstSeen: TIME,
      releasedAt: v.nullable(TIME),
      releasedBy: nullableString,
    }),
  ),
  detections: v.array(
    v.strictObject({
      id: v.string(),
      detector: v.string(),
      type: v.string(),
      route: v.string(),
      key: v.string(),
      tenant: nullableString,
      value: COUNT,
      threshold: COUNT,
      windowSeconds: COUNT,
      trippedAt: TIME,
      action: v.string(),
      releasedAt: v.nullable(TIME),
      releasedBy: nullableString,
      approvedBy: nullableString,
      auditSeq: v.nullable(COUNT),
    }),
  ),
  clocks: v.array(CLOCK),
  controls: v.array(v.strictObject({ section: v.string(), controls: v.array(v.string()) })),
  evidence: v.strictObject({
    versions: COUNT,
    hash: nullableString,
    intact: v.boolean(),
    tampering: v.array(v.string()),
  }),
  audit: v.strictObject({
    head: nullableString,
    entries: COUNT,
    verified: v.boolean(),
    firstBreak: nullableString,
    anchor: nullableString,
    unmatchedChanges: v.array(v.string()),
  }),
});
