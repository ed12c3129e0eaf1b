/** Quarantined identities of the window (copied while live, or known from their release's audit entry). */
import { actionKind, changesOf, entryTime } from "./audit-view.js";
import { isoSeconds } from "./clocks.js";
import type { AuditView, Report, ReportInputs } from "./model.js";

function quarantineTarget(q: { dimension: string; id: string; rule?: string | undefined }): string {
  return `${q.dimension}:${q.id}${q.rule ? `:${q.rule}` : ""}`;
}

/** A released quarantine's record from its audit entry (`before` holds the stored JSON evidence). */
function releasedRecord(entry: AuditView): ReportInputs["quarantines"][number] | undefined {
  const target = (entry.key ?? "").replace(/^quarantine:/, "");
  const [dimension = "", id = "", ...rule] = target.split(":");
  if (dimension === "" || id === "") return undefined;
  let stored: { at?: unknown; until?: unknown } = {};
  try {
    stored = typeof entry.before === "string" ? (JSON.parse(entry.before) as typeof stored) : {};
  } catch {
    // Set by hand: no evidence fields.
  }
  return {
    dimension,
    id,
    ...(rule.length > 0 ? { rule: rule.join(":") } : {}),
    firstSeen: typeof stored.at === "number" ? stored.at : entryTime(entry),
    ...(typeof stored.until === "number" ? { until: stored.until } : {}),
  };
}

export function quarantinesOf(inputs: ReportInputs): Report["quarantines"] {
  const { results } = changesOf(inputs.audit);
  const releases = results.filter((entry) => actionKind(entry.action) === "quarantine-release");
  const all = new Map(inputs.quarantines.map((q) => [quarantineTarget(q), q]));
  for (const entry of releases) {
    const record = releasedRecord(entry);
    if (record && !all.has(quarantineTarget(record))) all.set(quarantineTarget(record), record);
  }
  return [...all.values()]
    .sort((a, b) => a.firstSeen - b.firstSeen || a.id.localeCompare(b.id))
    .map((q) => {
      const release = releases.find(
        (entry) =>
          (entry.key ?? "") === `quarantine:${quarantineTarget(q)}` && entryTime(entry) >= q.firstSeen,
      );
      return {
        dimension: q.dimension,
        id: q.id,
        rule: q.rule ?? null,
        firstSeen: isoSeconds(q.firstSeen),
        releasedAt: release ? isoSeconds(entryTime(release)) : null,
        releasedBy: release ? (release.actor ?? null) : null,
      };
    });
}
