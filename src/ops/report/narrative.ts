/**
 * What a person writes into an incident report (docs/report.md, the narrative and decisions): the
 * narrative (summary, root cause, remediation, lessons), who chose the discovery time and why, the
 * individuals and records affected with the basis of each estimate, the HIPAA breach risk
 * assessment's four factors (45 CFR §164.402(2)), the content GDPR Art. 33(3) asks of a notification,
 * the notification decision per regime, the log of who was paged or notified, and the approvers'
 * sign-offs. One catalogue (NARRATIVE_FIELDS) names each text field's flag, incident-file key and
 * label, so the CLI, the gaps and the three formats never disagree about what is asked.
 */

export type Regime = "hipaa" | "gdpr" | "state" | "contract" | "other";
export const REGIMES: readonly Regime[] = ["hipaa", "gdpr", "state", "contract", "other"];

/** A person's decision whether a regime's notification is owed. */
export interface NotificationDecision {
  regime: Regime;
  notify: boolean;
  decidedBy: string;
  /** UTC ms. */
  decidedAt: number;
  reason: string;
}

/** Someone paged or notified: the on-call, counsel, the DPO, a covered entity, a regulator. */
export interface NoticeEntry {
  /** UTC ms. */
  at: number;
  to: string;
  via: string;
  by: string;
  note?: string | undefined;
}

/**
 * An approver's sign-off of one version of the incident record: `jws` is a compact EdDSA JWS (the
 * responder's audit signing key, src/ops/audit/sign.ts) whose payload is `signOffPayload(...)`.
 */
export interface SignOff {
  version: number;
  /** SHA-256 of the signed content (canonical JSON of the record, src/ops/incident-narrative.ts). */
  sha256: string;
  approver: string;
  role: string;
  /** UTC ms. */
  signedAt: number;
  kid: string;
  jws: string;
  /** The canonical JSON that was signed, kept so the signature can be checked after later edits. */
  content: string;
  /** The signer's public Ed25519 JWK, so a bundle names the key that checks it (`--keys` pins it). */
  publicJwk?: { kty: string; crv: string; x: string; kid?: string } | undefined;
}

/** The text fields, in report order. `regime` fields are asked only when that legal role is set. */
export const NARRATIVE_FIELDS = [
  { key: "summary", flag: "--summary", label: "Summary", regime: null },
  { key: "rootCause", flag: "--root-cause", label: "Root cause", regime: null },
  { key: "remediation", flag: "--remediation", label: "Remediation", regime: null },
  { key: "lessons", flag: "--lessons", label: "Lessons learned", regime: null },
  {
    key: "hipaaNature",
    flag: "--hipaa-nature",
    label: "Nature and extent of the PHI involved (identifiers, likelihood of re-identification)",
    regime: "hipaa",
  },
  {
    key: "hipaaRecipient",
    flag: "--hipaa-recipient",
    label: "The unauthorized person who used the PHI or to whom it was disclosed",
    regime: "hipaa",
  },
  {
    key: "hipaaAcquired",
    flag: "--hipaa-acquired",
    label: "Whether the PHI was actually acquired or viewed",
    regime: "hipaa",
  },
  {
    key: "hipaaMitigation",
    flag: "--hipaa-mitigation",
    label: "The extent to which the risk to the PHI has been mitigated",
    regime: "hipaa",
  },
  { key: "gdprNature", flag: "--gdpr-nature", label: "Nature of the personal data breach", regime: "gdpr" },
  {
    key: "gdprCategories",
    flag: "--gdpr-categories",
    label: "Categories of data subjects and of personal data records concerned",
    regime: "gdpr",
  },
  {
    key: "gdprConsequences",
    flag: "--gdpr-consequences",
    label: "Likely consequences of the breach",
    regime: "gdpr",
  },
  {
    key: "gdprMeasures",
    flag: "--gdpr-measures",
    label: "Measures taken or proposed to address it and mitigate its effects",
    regime: "gdpr",
  },
  {
    key: "gdprContact",
    flag: "--gdpr-contact",
    label: "Data protection officer or other contact point",
    regime: "gdpr",
  },
] as const;

export type NarrativeKey = (typeof NARRATIVE_FIELDS)[number]["key"];
export type NarrativeText = Partial<Record<NarrativeKey, string>>;

/** Everything a person enters beside the incident's opening fields. */
export interface NarrativeInputs extends NarrativeText {
  discoveredBy?: string | undefined;
  discoveryReason?: string | undefined;
  individualsBasis?: string | undefined;
  records?: number | undefined;
  recordsBasis?: string | undefined;
  decisions?: NotificationDecision[] | undefined;
  notices?: NoticeEntry[] | undefined;
  signoffs?: SignOff[] | undefined;
  /** 1, 2, …: a new version starts when the current one was signed off and is then edited. */
  version?: number | undefined;
  /** The signed version this one replaces, `<version>:<sha256>`. */
  replaces?: string | undefined;
  /** Counts every edit (optimistic concurrency of `incident set`); not part of what is signed. */
  revision?: number | undefined;
}

/** A field the report asks for and does not have, with the command that fills it. */
export interface Gap {
  field: string;
  what: string;
  command: string;
}

/** The narrative section of the report (JSON as docs/report.schema.json says). */
export interface NarrativeSection {
  version: number;
  replaces: { version: number; sha256: string } | null;
  /** In NARRATIVE_FIELDS order; `gap` is the command that fills a missing one the report asks for. */
  text: Array<{
    field: NarrativeKey;
    label: string;
    regime: "hipaa" | "gdpr" | null;
    value: string | null;
    gap: string | null;
  }>;
  discovery: {
    at: string;
    decidedBy: string | null;
    reason: string | null;
    /** Offered, never imposed: the person decides (`containment incident set --discovered`). */
    earliestEvidence: string | null;
    gap: string | null;
  };
  affected: {
    individuals: number | null;
    individualsBasis: string | null;
    records: number | null;
    recordsBasis: string | null;
    maxStateResidents: number | null;
    individualsGap: string | null;
    recordsGap: string | null;
    maxStateResidentsGap: string | null;
  };
  /** GDPR Art. 33(5): the facts, the effects and the remedial action, from the fields above. */
  gdprDocumentation: { facts: string | null; effects: string | null; remedialAction: string | null } | null;
  decisions: Array<{
    regime: Regime;
    decision: "notify" | "do-not-notify";
    decidedBy: string;
    decidedAt: string;
    reason: string;
  }>;
  notices: Array<{ at: string; to: string; via: string; by: string; note: string | null }>;
  signoffs: Array<{
    version: number;
    approver: string;
    role: string;
    signedAt: string;
    kid: string;
    sha256: string;
    /** Whether it signed the version this report shows. */
    current: boolean;
  }>;
  /** The commands that fill the missing decisions, the empty notification log, the missing sign-off. */
  decisionGaps: string[];
  noticesGap: string | null;
  signoffGap: string | null;
  /** Every gap above, in report order. */
  gaps: Gap[];
}
