/**
 * The report's detections (docs/detection.md, docs/report.md): what the edge's detectors tripped on
 * in the window, what each did and who released it, and the first one, offered as evidence for the
 * discovery time (never imposed: a person decides with `containment incident set --discovered`).
 *
 * Two sources, in this order of weight: the audit chain's `detection` entries (the edge's attested
 * record, entered by the first responder command that read it, kept as long as the chain), and the
 * live `detection:<id>` hashes (30 days) for detections no command has entered yet. Releases and
 * approvals come from their audit entries (who, when), else from the live hash.
 */
import type { DetectionRow } from "../detections.js";
import { entryTime } from "./audit-view.js";
import { isoSeconds } from "./clocks.js";
import type { AuditView, DetectionEvidence, Report, ReportInputs } from "./model.js";

const text = (value: unknown): string => (typeof value === "string" ? value : "");
const number = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) ? value : 0);

function asObject(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The detection of a `detection` audit entry (its `after` is what the edge attested). */
function fromEntry(entry: AuditView): DetectionEvidence | undefined {
  const after = asObject(entry.after);
  if (after === undefined || after.attestedBy !== "edge") return undefined;
  const at = Date.parse(text(after.at));
  const id = text(after.detection);
  if (id === "" || !Number.isFinite(at)) return undefined;
  return {
    id,
    detector: text(after.detector),
    type: text(after.type),
    route: text(after.route),
    key: text(after.key),
    tenant: typeof after.tenant === "string" ? after.tenant : null,
    value: number(after.value),
    threshold: number(after.threshold),
    windowMs: number(after.windowMs),
    action: text(after.action),
    at,
    releasedBy: null,
    releasedAt: null,
    approvedBy: null,
    auditSeq: entry.seq,
  };
}

/**
 * The window's detections from the whole audit chain and the live hashes (`live` as the responder's
 * reader answers it), each once, oldest first.
 */
export function detectionEvidence(
  chain: readonly AuditView[],
  live: readonly DetectionRow[],
  since: number,
  until: number,
): DetectionEvidence[] {
  const byId = new Map<string, DetectionEvidence>();
  for (const entry of chain) {
    if (entry.action !== "detection") continue;
    const found = fromEntry(entry);
    if (found && !byId.has(found.id)) byId.set(found.id, found);
  }
  for (const row of live) {
    const known = byId.get(row.id);
    if (known) {
      known.releasedBy ??= row.releasedBy;
      known.releasedAt ??= row.releasedAt;
      known.approvedBy ??= row.approvedBy;
      continue;
    }
    byId.set(row.id, {
      id: row.id,
      detector: row.detector,
      type: row.type,
      route: row.route,
      key: row.key,
      tenant: row.tenant,
      value: row.value,
      threshold: row.threshold,
      windowMs: row.windowMs,
      action: row.action,
      at: row.at,
      releasedBy: row.releasedBy,
      releasedAt: row.releasedAt,
      approvedBy: row.approvedBy,
      auditSeq: null,
    });
  }
  // Who released or approved it, as the audit chain says (the verified actor), over the live hash.
  for (const entry of chain) {
    if (entry.phase !== "result" || entry.outcome === "failed") continue;
    const id = (entry.key ?? "").replace(/^detection:/, "");
    const found = byId.get(id);
    if (!found) continue;
    if (entry.action === "detection-release") {
      found.releasedBy = entry.actor ?? found.releasedBy;
      found.releasedAt = entryTime(entry);
    } else if (entry.action === "detection-approve") found.approvedBy = entry.actor ?? found.approvedBy;
  }
  return [...byId.values()]
    .filter((d) => d.at >= since && d.at <= until)
    .sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
}

export function detectionsOf(inputs: ReportInputs): Report["detections"] {
  return (inputs.detections ?? []).map((d) => ({
    id: d.id,
    detector: d.detector,
    type: d.type,
    route: d.route,
    key: d.key,
    tenant: d.tenant,
    value: d.value,
    threshold: d.threshold,
    windowSeconds: Math.round(d.windowMs / 1000),
    trippedAt: isoSeconds(d.at),
    action: d.action,
    releasedAt: d.releasedAt === null ? null : isoSeconds(d.releasedAt),
    releasedBy: d.releasedBy,
    approvedBy: d.approvedBy,
    auditSeq: d.auditSeq,
  }));
}

/**
 * The first detection, offered as evidence for the discovery time: when a detector first saw the
 * leak, and how long before (positive) or after the entered discovery time that was.
 */
export function firstDetectionOf(inputs: ReportInputs): Report["incident"]["firstDetection"] {
  const first = (inputs.detections ?? [])[0];
  if (first === undefined) return null;
  return {
    id: first.id,
    at: isoSeconds(first.at),
    detector: first.detector,
    type: first.type,
    action: first.action,
    secondsBeforeDiscovery: Math.round((inputs.incident.discovered - first.at) / 1000),
  };
}

/** What a detection counted, in words (the report's tables and timeline). */
export function measureOf(d: { type: string; value: number; threshold: number }): string {
  const unit =
    { enumeration: "distinct records", surge: "requests", probing: "refusals" }[d.type] ?? "decoy hits";
  return `${d.value} ${unit} (threshold ${d.threshold})`;
}
