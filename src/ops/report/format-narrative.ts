/**
 * The narrative section as plain labelled facts and tables, shared by the Markdown and HTML
 * renderers: each fact is a value or a gap naming the command that fills it.
 */
import type { Table } from "./format.js";
import type { Report } from "./model.js";
import { NARRATIVE_FIELDS, type NarrativeKey } from "./narrative.js";

export interface Fact {
  label: string;
  value: string | null;
  /** The command that fills it, when `value` is null and the report asks for it. */
  gap?: string | undefined;
}

export interface FactGroup {
  title: string;
  note?: string | undefined;
  facts: Fact[];
}

/** By position (text is in NARRATIVE_FIELDS order), so a renderer never matches on data. */
function textFact(report: Report, field: NarrativeKey): Fact {
  const t = report.narrative.text[NARRATIVE_FIELDS.findIndex((f) => f.key === field)];
  return { label: t?.label ?? field, value: t?.value ?? null, gap: t?.gap ?? undefined };
}

const orUndefined = (text: string | null): string | undefined => text ?? undefined;

const estimate = (n: number | null, basis: string | null): string | null =>
  n === null ? null : `${n}${basis ? ` (basis: ${basis})` : " (basis not entered)"}`;

export function narrativeGroups(report: Report): FactGroup[] {
  const n = report.narrative;
  const hipaa = report.incident.hipaaRole !== null;
  const gdpr = report.incident.gdprRole !== null;
  const individuals = estimate(n.affected.individuals, n.affected.individualsBasis);
  const records = estimate(n.affected.records, n.affected.recordsBasis);
  const groups: FactGroup[] = [
    {
      title: "Narrative",
      note:
        n.replaces === null
          ? `Version ${n.version} of the incident record.`
          : `Version ${n.version}: replaces version ${n.replaces.version} (SHA-256 ${n.replaces.sha256}), which was signed off.`,
      facts: (["summary", "rootCause", "remediation", "lessons"] as const).map((f) => textFact(report, f)),
    },
    {
      title: "Discovery decision",
      note: "The discovery time is a person's decision; the earliest anomalous evidence is offered, never imposed.",
      facts: [
        { label: "Discovery time", value: n.discovery.at },
        {
          label: "Decided by, and why",
          value:
            n.discovery.reason === null ? null : `${n.discovery.decidedBy ?? "?"}: ${n.discovery.reason}`,
          gap: orUndefined(n.discovery.gap),
        },
        {
          label: "Earliest anomalous evidence (offered)",
          value: n.discovery.earliestEvidence ?? "none above the look-back's normal",
        },
      ],
    },
    {
      title: "Individuals and records affected",
      note: "Estimates entered by people, with their basis; never derived from request counts.",
      facts: [
        { label: "Individuals", value: individuals, gap: orUndefined(n.affected.individualsGap) },
        { label: "Records", value: records, gap: orUndefined(n.affected.recordsGap) },
        ...(report.incident.hipaaRole === "covered-entity"
          ? [
              {
                label: "Residents of the most affected State",
                value: n.affected.maxStateResidents === null ? null : String(n.affected.maxStateResidents),
                gap: orUndefined(n.affected.maxStateResidentsGap),
              },
            ]
          : []),
      ],
    },
  ];
  if (hipaa)
    groups.push({
      title: "HIPAA breach risk assessment (45 CFR §164.402(2))",
      note: "The four factors; a breach is presumed unless they show a low probability that the PHI has been compromised.",
      facts: (["hipaaNature", "hipaaRecipient", "hipaaAcquired", "hipaaMitigation"] as const).map((f) =>
        textFact(report, f),
      ),
    });
  if (gdpr) {
    groups.push({
      title: "GDPR Art. 33(3) notification content",
      facts: [
        textFact(report, "gdprNature"),
        textFact(report, "gdprCategories"),
        {
          label: "Approximate number of data subjects",
          value: individuals,
          gap: orUndefined(n.affected.individualsGap),
        },
        {
          label: "Approximate number of personal data records",
          value: records,
          gap: orUndefined(n.affected.recordsGap),
        },
        textFact(report, "gdprConsequences"),
        textFact(report, "gdprMeasures"),
        textFact(report, "gdprContact"),
      ],
    });
    const doc = n.gdprDocumentation;
    groups.push({
      title: "GDPR Art. 33(5) documentation",
      note: "The facts, the effects and the remedial action, kept whether or not the authority is notified.",
      facts: [
        { label: "Facts (summary)", value: doc?.facts ?? null, gap: textFact(report, "summary").gap },
        {
          label: "Effects (likely consequences)",
          value: doc?.effects ?? null,
          gap: textFact(report, "gdprConsequences").gap,
        },
        {
          label: "Remedial action",
          value: doc?.remedialAction ?? null,
          gap: textFact(report, "remediation").gap,
        },
      ],
    });
  }
  return groups;
}

/** Decisions, the notification log and sign-offs; an empty one names the command that fills it. */
export function narrativeTables(report: Report): Table[] {
  const n = report.narrative;
  return [
    {
      title: "Notification decisions",
      section: "Notification decisions",
      note:
        n.decisionGaps.length > 0 ? `GAP: a decision is missing: ${n.decisionGaps.join("; ")}` : undefined,
      head: ["Regime", "Decision", "Decided by", "Decided (UTC)", "Why"],
      rows: n.decisions.map((d) => [d.regime, d.decision, d.decidedBy, d.decidedAt, d.reason]),
      empty: "No notification decision recorded.",
    },
    {
      title: "Notification and paging log",
      section: "Notification log",
      head: ["Time (UTC)", "To", "Via", "By", "Note"],
      rows: n.notices.map((x) => [x.at, x.to, x.via, x.by, x.note ?? "—"]),
      empty: `GAP: nobody logged as paged or notified: ${n.noticesGap ?? ""}`,
    },
    {
      title: "Sign-off",
      section: "Sign-off",
      note:
        n.signoffGap === null
          ? `Version ${n.version} is signed off.`
          : `GAP: version ${n.version} is not signed off: ${n.signoffGap}`,
      head: ["Version", "Approver", "Role", "Signed (UTC)", "Key", "Content SHA-256", "Covers this version"],
      rows: n.signoffs.map((s) => [
        String(s.version),
        s.approver,
        s.role,
        s.signedAt,
        s.kid,
        s.sha256,
        s.current ? "yes" : "no: an earlier version",
      ]),
      empty: "No sign-off.",
    },
  ];
}
