/**
 * The incident's timeline: discovery, opening, every containment change (audit results) with actor
 * and reason, each region's confirmation, closing. Sorted by time, ties in a fixed order.
 */
import { actionKind, changesOf, entryTime, switchIdOf, switchOf } from "./audit-view.js";
import { isoSeconds } from "./clocks.js";
import { measureOf } from "./detections.js";
import type { AuditView, Report, ReportInputs, TimelineEntry, TimelineKind } from "./model.js";

const KIND_FROM_ACTION: Record<ReturnType<typeof actionKind>, TimelineKind> = {
  kill: "kill",
  lift: "lift",
  extend: "extend",
  "rules-push": "rules-push",
  "quarantine-release": "quarantine-release",
  "incident-open": "incident-opened",
  "incident-close": "incident-closed",
  other: "other",
};

const ORDER: readonly TimelineKind[] = [
  "earliest-anomaly",
  "detection",
  "discovered",
  "incident-opened",
  "rules-push",
  "kill",
  "extend",
  "confirmed",
  "notified",
  "notification-decision",
  "quarantine-release",
  "lift",
  "other",
  "incident-closed",
  "signed-off",
];

function scopeText(entry: AuditView, side: "before" | "after"): string {
  const state = switchOf(entry, side);
  if (!state) return "";
  const paths = typeof state.scope.path === "string" ? state.scope.path : state.scope.path.join(", ");
  const parts = [paths];
  if (state.scope.methods) parts.push(`methods ${state.scope.methods.join(",")}`);
  if (state.scope.tenants) parts.push(`tenants ${state.scope.tenants.join(",")}`);
  return ` (${parts.join("; ")})`;
}

function summaryOf(entry: AuditView, kind: TimelineKind): string {
  const id = switchIdOf(entry);
  switch (kind) {
    case "kill":
      return `kill switch ${id ?? entry.key ?? "?"}@${switchOf(entry, "after")?.version ?? 0} written${scopeText(entry, "after")}`;
    case "extend":
      return `kill switch ${id ?? "?"} extended to version ${switchOf(entry, "after")?.version ?? 0}`;
    case "lift":
      return `kill switch ${id ?? entry.key ?? "?"} lifted`;
    case "rules-push":
      return "rules document pushed";
    case "quarantine-release":
      return `quarantine ${(entry.key ?? "").replace(/^.*?quarantine:/, "")} released`;
    case "incident-opened":
      return "incident opened";
    case "incident-closed":
      return "incident closed";
    default:
      return `${entry.action}${entry.key ? ` ${entry.key}` : ""}`;
  }
}

function fromAudit(entry: AuditView): TimelineEntry {
  const kind = KIND_FROM_ACTION[actionKind(entry.action)];
  const at = entryTime(entry);
  return {
    at: isoSeconds(at),
    atMs: at,
    kind,
    summary: summaryOf(entry, kind),
    actor: entry.actor ?? undefined,
    claimedActor: entry.claimedActor ?? undefined,
    reason: entry.reason ?? undefined,
    target: entry.key ?? undefined,
    auditSeq: entry.seq,
  };
}

type Point = (atMs: number, kind: TimelineKind, summary: string, extra?: Partial<TimelineEntry>) => void;

/** The people's entries: notification decisions, pages and notices, sign-offs. */
function pointsOfNarrative(inputs: ReportInputs, point: Point): void {
  const { incident } = inputs;
  for (const d of incident.decisions ?? [])
    point(d.decidedAt, "notification-decision", `${d.regime}: ${d.notify ? "notify" : "do not notify"}`, {
      actor: d.decidedBy,
      reason: d.reason,
    });
  for (const n of incident.notices ?? [])
    point(n.at, "notified", `notified ${n.to} via ${n.via}`, { actor: n.by, reason: n.note });
  for (const s of incident.signoffs ?? [])
    point(s.signedAt, "signed-off", `version ${s.version} signed off (${s.role}, key ${s.kid})`, {
      actor: s.approver,
    });
}

export function buildTimeline(
  inputs: ReportInputs,
  anomaly: Report["incident"]["earliestAnomaly"],
): TimelineEntry[] {
  const { incident } = inputs;
  const out: TimelineEntry[] = [];
  const point = (atMs: number, kind: TimelineKind, summary: string, extra: Partial<TimelineEntry> = {}) =>
    out.push({ at: isoSeconds(atMs), atMs, kind, summary, ...extra });

  point(incident.discovered, "discovered", "discovery (as entered by the responder)");
  if (anomaly) {
    point(
      Date.parse(anomaly.at),
      "earliest-anomaly",
      `earliest anomalous evidence, offered for the discovery decision: ${anomaly.count} ${anomaly.outcome} decisions of ${anomaly.rule} in a minute (normal ${anomaly.normal})`,
    );
  }
  for (const d of inputs.detections ?? [])
    point(
      d.at,
      "detection",
      `${d.type} detector ${d.detector} tripped on ${d.route} by ${d.key}${d.tenant ? ` (tenant ${d.tenant})` : ""}: ${measureOf(d)}; ${d.action}`,
      { actor: "edge (attested)", target: d.id, ...(d.auditSeq === null ? {} : { auditSeq: d.auditSeq }) },
    );
  pointsOfNarrative(inputs, point);
  const results = changesOf(inputs.audit).results.map(fromAudit);
  if (!results.some((entry) => entry.kind === "incident-opened"))
    point(incident.opened, "incident-opened", "incident opened", { actor: incident.openedBy });
  out.push(...results);
  for (const c of inputs.confirmations) {
    const what =
      c.state === "present" ? `enforces ${c.switchId}@${c.version}` : `no longer enforces ${c.switchId}`;
    point(c.at, "confirmed", `region ${c.region} ${what}${c.isolates ? ` (${c.isolates} isolates)` : ""}`, {
      region: c.region,
      target: c.switchId,
    });
  }
  if (incident.closed !== undefined && !results.some((entry) => entry.kind === "incident-closed"))
    point(incident.closed, "incident-closed", "incident closed", { actor: incident.closedBy });
  return out.sort(
    (a, b) =>
      a.atMs - b.atMs ||
      ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind) ||
      (a.auditSeq ?? 0) - (b.auditSeq ?? 0),
  );
}
