/**
 * The report's narrative section from the incident record: every field a person must enter, and
 * for each one missing a gap naming the exact command that fills it (docs/report.md, the narrative
 * and decisions). Pure, like the rest of the report.
 */
import { isoSeconds } from "./clocks.js";
import type { EarliestAnomaly, IncidentRecord, Report } from "./model.js";
import { type Gap, NARRATIVE_FIELDS, type NarrativeSection, type Regime } from "./narrative.js";

/** `<version>:<sha256>` → its parts (null when absent or malformed). */
export function parseReplaces(text: string | undefined): { version: number; sha256: string } | null {
  const match = /^(\d+):([0-9a-f]{64})$/.exec(text ?? "");
  return match ? { version: Number(match[1]), sha256: match[2] as string } : null;
}

function regimesOf(incident: IncidentRecord): Regime[] {
  const out: Regime[] = [];
  if (incident.hipaaRole !== undefined) out.push("hipaa");
  if (incident.gdprRole !== undefined) out.push("gdpr");
  return out;
}

/** Evidence offered for the discovery decision: the earliest anomaly and the first detection, in words. */
function offered(anomaly: EarliestAnomaly | null, detection: FirstDetection | null): string {
  const parts = [
    ...(anomaly ? [`the earliest anomalous evidence, ${anomaly.at}`] : []),
    ...(detection ? [`the first detection, ${detection.at} (${detection.detector})`] : []),
  ];
  return parts.length === 0
    ? ""
    : ` (${parts.join("; ")} ${parts.length === 1 ? "is" : "are"} offered: change the time only if you decide so)`;
}

type FirstDetection = Report["incident"]["firstDetection"];

function gapsOf(
  incident: IncidentRecord,
  anomaly: EarliestAnomaly | null,
  detection: FirstDetection | null,
  version: number,
): Gap[] {
  const id = incident.id;
  const set = (flags: string) => `containment incident set ${id} ${flags}`;
  const gaps: Gap[] = [];
  const regimes = regimesOf(incident);
  for (const f of NARRATIVE_FIELDS) {
    if (f.regime !== null && !regimes.includes(f.regime)) continue;
    if (!incident[f.key]) gaps.push({ field: f.key, what: f.label, command: set(`${f.flag} "…"`) });
  }
  if (!incident.discoveryReason)
    gaps.push({
      field: "discoveryReason",
      // The command keeps the time entered: the earliest evidence is offered in words, never pre-filled.
      what: `Who chose the discovery time, and why${offered(anomaly, detection)}`,
      command: set(`--discovered ${isoSeconds(incident.discovered)} --discovery-reason "…"`),
    });
  if (incident.individuals === undefined || !incident.individualsBasis)
    gaps.push({
      field: "individuals",
      what: "Individuals affected (an estimate, with its basis; never derived from request counts)",
      command: set(`--individuals N --individuals-basis "…"`),
    });
  if (incident.records === undefined || !incident.recordsBasis)
    gaps.push({
      field: "records",
      what: "Records affected (an estimate, with its basis)",
      command: set(`--records N --records-basis "…"`),
    });
  if (incident.hipaaRole === "covered-entity" && incident.maxStateResidents === undefined)
    gaps.push({
      field: "maxStateResidents",
      what: "Residents of the most affected State (decides media notice, HIPAA §164.406)",
      command: set("--max-state-residents N"),
    });
  if (incident.hipaaRole === "business-associate" && incident.baaTerm === undefined)
    gaps.push({
      field: "baaTerm",
      what: "The business associate agreement's notice term (the clock uses 60 days without it)",
      command: set("--baa-term 10d"),
    });
  if (incident.gdprRole === "processor" && incident.dpaTerm === undefined)
    gaps.push({
      field: "dpaTerm",
      what: "The data processing agreement's notice term (the controller's deadline depends on it)",
      command: set("--dpa-term 24h"),
    });
  const decided = new Set((incident.decisions ?? []).map((d) => d.regime));
  for (const regime of regimes)
    if (!decided.has(regime))
      gaps.push({
        field: `decision.${regime}`,
        what: `Notification decision under ${regime === "hipaa" ? "HIPAA" : "GDPR"}: who decided, when, notify or not, and why`,
        command: `containment incident decide ${id} --regime ${regime} --notify|--no-notify --reason "…"`,
      });
  if ((incident.notices ?? []).length === 0)
    gaps.push({
      field: "notices",
      what: "Who was paged or notified, and when",
      command: `containment incident notified ${id} --to "…" --via pager|email|phone [--at TIME]`,
    });
  if (!(incident.signoffs ?? []).some((s) => s.version === version))
    gaps.push({
      field: "signoff",
      what: `Approver sign-off of version ${version}`,
      command: `containment incident sign-off ${id} --sign-key KEY.jwk --yes`,
    });
  return gaps;
}

/** @example narrativeSection(incident, report.incident.earliestAnomaly).gaps.map((g) => g.command) */
export function narrativeSection(
  incident: IncidentRecord,
  anomaly: EarliestAnomaly | null,
  detection: FirstDetection | null = null,
): NarrativeSection {
  const version = incident.version ?? 1;
  const gaps = gapsOf(incident, anomaly, detection, version);
  const gap = (field: string) => gaps.find((g) => g.field === field)?.command ?? null;
  const text = (key: keyof IncidentRecord) => {
    const value = incident[key];
    return typeof value === "string" && value !== "" ? value : null;
  };
  return {
    version,
    replaces: parseReplaces(incident.replaces),
    text: NARRATIVE_FIELDS.map((f) => ({
      field: f.key,
      label: f.label,
      regime: f.regime,
      value: text(f.key),
      gap: gap(f.key),
    })),
    discovery: {
      at: isoSeconds(incident.discovered),
      decidedBy: text("discoveredBy"),
      reason: text("discoveryReason"),
      earliestEvidence:
        [anomaly?.at, detection?.at]
          .filter((at): at is string => at !== undefined)
          .sort((a, b) => Date.parse(a) - Date.parse(b))[0] ?? null,
      gap: gap("discoveryReason"),
    },
    affected: {
      individuals: incident.individuals ?? null,
      individualsBasis: text("individualsBasis"),
      records: incident.records ?? null,
      recordsBasis: text("recordsBasis"),
      maxStateResidents: incident.maxStateResidents ?? null,
      individualsGap: gap("individuals"),
      recordsGap: gap("records"),
      maxStateResidentsGap: gap("maxStateResidents"),
    },
    gdprDocumentation:
      incident.gdprRole === undefined
        ? null
        : {
            facts: text("summary"),
            effects: text("gdprConsequences"),
            remedialAction: text("remediation") ?? text("gdprMeasures"),
          },
    decisions: [...(incident.decisions ?? [])]
      .sort((a, b) => a.decidedAt - b.decidedAt)
      .map((d) => ({
        regime: d.regime,
        decision: d.notify ? "notify" : "do-not-notify",
        decidedBy: d.decidedBy,
        decidedAt: isoSeconds(d.decidedAt),
        reason: d.reason,
      })),
    notices: [...(incident.notices ?? [])]
      .sort((a, b) => a.at - b.at)
      .map((n) => ({ at: isoSeconds(n.at), to: n.to, via: n.via, by: n.by, note: n.note ?? null })),
    signoffs: (incident.signoffs ?? []).map((s) => ({
      version: s.version,
      approver: s.approver,
      role: s.role,
      signedAt: isoSeconds(s.signedAt),
      kid: s.kid,
      sha256: s.sha256,
      current: s.version === version,
    })),
    decisionGaps: gaps.filter((g) => g.field.startsWith("decision.")).map((g) => g.command),
    noticesGap: gap("notices"),
    signoffGap: gap("signoff"),
    gaps,
  };
}
