/**
 * The report's tables as plain rows of text, shared by the Markdown and HTML renderers so both show
 * the same cells in the same order.
 */

import { UNDECLARED_TENANT } from "../../stores/mirror/layout.js";
import { measureOf } from "./detections.js";
import type { Report } from "./model.js";

export interface Table {
  title: string;
  /** Section name in SECTION_CONTROLS whose controls are printed under the table. */
  section: string;
  note?: string | undefined;
  head: string[];
  rows: string[][];
  empty: string;
}

const dash = (value: string | number | null | undefined): string =>
  value === null || value === undefined || value === "" ? "—" : String(value);

const UNITS: ReadonlyArray<readonly [number, string]> = [
  [86_400, "d"],
  [3_600, "h"],
  [60, "m"],
  [1, "s"],
];

/** `3725` → `1h 2m 5s`; `0` → `0s`. */
export function duration(seconds: number | null): string {
  if (seconds === null) return "—";
  let rest = Math.abs(seconds);
  const parts: string[] = [];
  for (const [size, unit] of UNITS) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || (unit === "s" && parts.length === 0)) parts.push(`${n}${unit}`);
  }
  return (seconds < 0 ? "-" : "") + parts.join(" ");
}

export function tablesOf(report: Report): Table[] {
  const c = report.containment;
  return [
    {
      title: "Timeline",
      section: "Timeline",
      head: ["Time (UTC)", "Event", "Actor", "Reason", "Audit seq"],
      rows: report.timeline.map((t) => [
        t.at,
        t.summary,
        t.actor
          ? t.claimedActor && t.claimedActor !== t.actor
            ? `${t.actor} (claimed ${t.claimedActor})`
            : t.actor
          : "—",
        dash(t.reason),
        dash(t.auditSeq),
      ]),
      empty: "No events.",
    },
    {
      title: "Containment",
      section: "Containment",
      note: `Discovery → first kill switch written: ${duration(c.secondsDiscoveryToFirstKill)}; → first region confirmed: ${duration(c.secondsDiscoveryToFirstConfirmed)}.`,
      head: ["Switch", "Action", "Written (UTC)", "Region", "Confirmed (UTC)", "Write → confirmed"],
      rows: c.flips.flatMap((f) => {
        const base = [`${f.switchId}@${f.version}`, f.action, f.writtenAt];
        if (f.confirmations.length === 0) return [[...base, "—", "not confirmed", "—"]];
        return f.confirmations.map((k) => [...base, k.region, k.at, duration(k.secondsAfterWrite)]);
      }),
      empty: "No kill switch was written for this incident.",
    },
    {
      title: "Decisions per rule per minute",
      section: "Decisions per rule per minute",
      note: "All decisions, from the per-minute counts (not samples). Phase: before the first kill switch; kill-minute, the minute it was written in (part before, part during); during containment; lift-minute, the minute of the last lift (part during, part after); after.",
      head: ["Minute (UTC)", "Phase", "Rule", "Blocked", "Rate-limited", "Monitored", "Allowed", "Errors"],
      rows: report.decisions.perMinute.map((m) => [
        m.minute,
        m.phase,
        m.rule,
        String(m.blocked),
        String(m.rateLimited),
        String(m.monitored),
        String(m.allowed),
        String(m.errors),
      ]),
      empty: "No decisions were counted in the window.",
    },
    {
      title: "Traffic that reached protected routes before containment took effect",
      section: "Traffic that reached protected routes",
      note: reachedNote(report),
      head: ["Switch", "Route", "Method", "Tenant", "Requests"],
      rows: report.reachedBeforeContainment.rows.map((r) => [
        r.switchId,
        r.route,
        r.method,
        r.tenant,
        String(r.requests),
      ]),
      empty: "None.",
    },
    ...affectedTables(report),
    {
      title: "Quarantined identities",
      section: "Quarantined identities",
      note: "Pseudonyms as the mirror stores them; never raw identifiers.",
      head: [
        "Dimension",
        "Identity (pseudonym)",
        "Rule",
        "First seen (UTC)",
        "Released (UTC)",
        "Released by",
      ],
      rows: report.quarantines.map((q) => [
        q.dimension,
        q.id,
        dash(q.rule),
        q.firstSeen,
        dash(q.releasedAt),
        dash(q.releasedBy),
      ]),
      empty: "No identity was quarantined in the window.",
    },
    {
      title: "Detections",
      section: "Detections",
      note: "What the edge's detectors tripped on in the window (docs/detection.md): keys are pseudonyms, routes templates. Entered into the audit chain as attested by the edge; the first is offered as evidence for the discovery time, never imposed.",
      head: [
        "Tripped (UTC)",
        "Detection",
        "Detector",
        "Route",
        "Key (pseudonym)",
        "Tenant",
        "Counted",
        "What it did",
        "Released",
        "Audit seq",
      ],
      rows: report.detections.map((d) => [
        d.trippedAt,
        d.id,
        `${d.type} ${d.detector}`,
        d.route,
        d.key,
        dash(d.tenant),
        `${measureOf(d)} in ${duration(d.windowSeconds)}`,
        `${d.action}${d.approvedBy ? ` (approved by ${d.approvedBy})` : ""}`,
        d.releasedAt ? `${d.releasedAt} by ${d.releasedBy ?? "?"}` : "—",
        d.auditSeq === null ? "not entered yet" : String(d.auditSeq),
      ]),
      empty: "No detector tripped in the window.",
    },
    {
      title: "Notification clocks",
      section: "Notification clocks",
      note: `From the discovery time ${report.incident.discovered}. Deadlines are outer limits; "without unreasonable/undue delay" applies first.`,
      head: ["Rule", "Role", "To", "Deadline (UTC)", "Applies", "Basis"],
      rows: report.clocks.map((k) => [
        k.citation,
        k.role,
        k.recipient,
        k.deadline ??
          (k.id === "gdpr-33.2"
            ? `GAP: the DPA's term (containment incident set ${report.incident.id} --dpa-term 24h)`
            : "no fixed deadline"),
        k.applicability,
        k.basis,
      ]),
      empty:
        "No legal role set: open the incident with --hipaa-role and/or --gdpr-role (or set them in containment.json).",
    },
  ];
}

/** One number when the route shapes tell exactly; otherwise bounds, and why. */
function reachedNote(report: Report): string {
  const r = report.reachedBeforeContainment;
  const count =
    r.upper > r.total
      ? `Between ${r.total} and ${r.upper} admitted requests (bounds, not one number: ${r.bounds.join("; ")})`
      : `${r.total} admitted requests`;
  return `${count} inside a kill switch's scope, from the window's start through the minute its last region confirmed (every decision by route shape, whatever rule matched it; rows list the certain ones).${formatOneNote(report)}`;
}

function formatOneNote(report: Report): string {
  return report.affected.formatOneMinutes
    ? " Minutes recorded before format 2 are counted by the pattern of the rule that matched."
    : "";
}

function affectedTables(report: Report): Table[] {
  const uncertain = [report.affected.tenants, report.affected.routes, report.affected.dataClasses].some(
    (list) => list.some((r) => r.uncertain > 0),
  );
  const rows = (list: Report["affected"]["tenants"]) =>
    list.map((r) => [
      r.name,
      String(r.requests),
      String(r.blocked),
      String(r.admitted),
      ...(uncertain ? [String(r.uncertain)] : []),
    ]);
  const overflow =
    report.affected.trafficOverflow > 0
      ? ` ${report.affected.trafficOverflow} requests were counted without their route (the mirror's per-minute cardinality cap); those that may be in scope are in "May be in scope".`
      : "";
  // The bucket's name is not a tenant: say what it holds, so nobody notifies "~undeclared".
  const undeclared = report.affected.tenants.some((r) => r.name === UNDECLARED_TENANT)
    ? ` ${UNDECLARED_TENANT} counts requests whose tenant the rules document does not declare: Redis keeps no name for them (declare tenants in the document's "tenants" to have them named).`
    : "";
  const head = (first: string) => [
    first,
    "Requests",
    "Blocked",
    "Admitted",
    ...(uncertain ? ["May be in scope"] : []),
  ];
  return [
    {
      title: "Affected tenants",
      section: "Affected tenants, routes and data classes",
      note: `Requests on protected routes or routes of the incident's data classes, in the window.${overflow}${undeclared}${formatOneNote(report)}`,
      head: head("Tenant"),
      rows: rows(report.affected.tenants),
      empty: "None.",
    },
    {
      title: "Affected routes",
      section: "Affected tenants, routes and data classes",
      head: head("Route"),
      rows: rows(report.affected.routes),
      empty: "None.",
    },
    {
      title: "Affected data classes",
      section: "Affected tenants, routes and data classes",
      head: head("Data class"),
      rows: rows(report.affected.dataClasses),
      empty: "None mapped: add dataClasses to the rules and kill switches, or a route map to the document.",
    },
  ];
}

/** The preserved copy's state: its latest version, and every contradiction the live keys showed. */
export function evidenceLines(report: Report): string[] {
  const e = report.evidence;
  const lines = [
    e.hash === null
      ? "Preserved evidence: no copy yet"
      : `Preserved evidence: version ${e.versions}, content ${e.hash} (in the audit chain)`,
  ];
  if (!e.intact)
    lines.push(
      `EVIDENCE TAMPERING: the live mirror keys contradict the preserved copy in ${e.tampering.length} place(s); the numbers above are the preserved ones`,
      ...e.tampering.map((line) => `tampering: ${line}`),
    );
  return lines;
}

export function auditLines(report: Report): string[] {
  const a = report.audit;
  const lines = [
    `Audit chain head: ${a.head ?? "(empty chain)"} (${a.entries} entries)`,
    a.verified
      ? "audit verify: OK: every entry links to the one before it"
      : `audit verify: BROKEN: ${a.firstBreak ?? "unknown"}`,
  ];
  if (a.anchor !== null) lines.push(`Edge Config anchor: ${a.anchor}`);
  lines.push(...evidenceLines(report));
  for (const change of a.unmatchedChanges) lines.push(`Incomplete change: ${change}`);
  return lines;
}

/** The first detection offered for the discovery decision, in words (Markdown and HTML say the same). */
export function firstDetectionLine(report: Report): string {
  const first = report.incident.firstDetection;
  if (first === null) return "none in the window";
  const gap = first.secondsBeforeDiscovery;
  const relation =
    gap > 0
      ? `${duration(gap)} before the entered discovery time`
      : gap < 0
        ? `${duration(-gap)} after the entered discovery time`
        : "at the entered discovery time";
  return `${first.at} (${first.type} detector ${first.detector}, detection ${first.id}, ${first.action}; ${relation}): change the discovery time only if you decide the leak was discovered then`;
}
