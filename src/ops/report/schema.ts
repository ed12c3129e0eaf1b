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
const PHASE = v.picklist(["before", "during", "after"]);
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
    "kill",
    "lift",
    "extend",
    "rules-push",
    "quarantine-release",
    "confirmed",
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
    earliestAnomaly: v.nullable(v.strictObject({ at: TIME, rule: v.string(), outcome: v.string() })),
  }),
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
      during: v.strictObject(OUTCOMES),
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
  clocks: v.array(CLOCK),
  controls: v.array(v.strictObject({ section: v.string(), controls: v.array(v.string()) })),
  audit: v.strictObject({
    head: nullableString,
    entries: COUNT,
    verified: v.boolean(),
    firstBreak: nullableString,
    anchor: nullableString,
    unmatchedChanges: v.array(v.string()),
  }),
});
