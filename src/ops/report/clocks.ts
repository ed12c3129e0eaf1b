/**
 * Regulatory notification clocks, computed from the discovery time the responder entered and the
 * legal role the organisation holds. Pure arithmetic on UTC milliseconds, exact to the second:
 * "60 calendar days" is 60 × 86 400 s after discovery, "72 hours" is 259 200 s after awareness.
 *
 * What this does NOT decide: whether a breach occurred, how many individuals it affected, or
 * whether a notification is owed at all. The individuals count is a responder input; where a
 * clock depends on it and it is unknown, both branches are shown.
 */

export type HipaaRole = "covered-entity" | "business-associate";
export type GdprRole = "controller" | "processor";

export const HIPAA_ROLES: readonly HipaaRole[] = ["covered-entity", "business-associate"];
export const GDPR_ROLES: readonly GdprRole[] = ["controller", "processor"];

export interface ClockInputs {
  /** Discovery (HIPAA) / awareness (GDPR), UTC ms, as the responder entered it. */
  discovered: number;
  hipaaRole?: HipaaRole | undefined;
  gdprRole?: GdprRole | undefined;
  /** Business associate agreement's notice term in ms, when shorter than the rule's 60 days. */
  baaTermMs?: number | undefined;
  /** Data processing agreement's notice term in ms (processor to controller). */
  dpaTermMs?: number | undefined;
  /** Affected individuals: a responder input, never derived from request counts. */
  individuals?: number | undefined;
  /** Largest number of affected residents of one State or jurisdiction (HIPAA §164.406). */
  maxStateResidents?: number | undefined;
}

export interface RegulatoryClock {
  /** Stable id, e.g. `hipaa-164.404`. */
  id: string;
  framework: "HIPAA" | "GDPR";
  citation: string;
  role: string;
  recipient: string;
  /** What the rule asks, in a few words. */
  requirement: string;
  /** ISO 8601 UTC with seconds; null when the rule sets no fixed deadline ("without undue delay"). */
  deadline: string | null;
  /** Seconds from discovery to the deadline (null with no deadline). */
  secondsFromDiscovery: number | null;
  /** `applies`, `conditional` (depends on a count or assessment the responder has not given), `not-applicable`. */
  applicability: "applies" | "conditional" | "not-applicable";
  /** How the deadline was computed and what it depends on. */
  basis: string;
}

const SECOND = 1_000;
const HOUR = 3_600 * SECOND;
const DAY = 24 * HOUR;
const SIXTY_DAYS = 60 * DAY;

/** `2026-12-01T21:48:23Z`: ISO 8601 UTC, whole seconds (evidence does not need milliseconds). */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / SECOND) * SECOND).toISOString().replace(".000Z", "Z");
}

function clock(
  base: Omit<RegulatoryClock, "deadline" | "secondsFromDiscovery">,
  discovered: number,
  deadline: number | null,
): RegulatoryClock {
  return {
    ...base,
    deadline: deadline === null ? null : isoSeconds(deadline),
    secondsFromDiscovery: deadline === null ? null : Math.round((deadline - discovered) / SECOND),
  };
}

function describeTerm(ms: number): string {
  if (ms % DAY === 0) return `${ms / DAY} days`;
  if (ms % HOUR === 0) return `${ms / HOUR} hours`;
  return `${Math.round(ms / SECOND)} seconds`;
}

/** End of the calendar year (UTC) of `at` plus 60 days: HHS notice for fewer than 500 individuals. */
export function yearEndPlusSixtyDays(at: number): number {
  const year = new Date(at).getUTCFullYear();
  return Date.UTC(year + 1, 0, 1) + SIXTY_DAYS;
}

function coveredEntityClocks(input: ClockInputs): RegulatoryClock[] {
  const d = input.discovered;
  const role = "HIPAA covered entity";
  const n = input.individuals;
  const countKnown = n !== undefined;
  const large = countKnown && n >= 500;
  const hhsDeadline = !countKnown ? null : large ? d + SIXTY_DAYS : yearEndPlusSixtyDays(d);
  const hhsBasis = !countKnown
    ? `affected individuals not entered: 500 or more → ${isoSeconds(d + SIXTY_DAYS)} (60 days from discovery); fewer → ${isoSeconds(yearEndPlusSixtyDays(d))} (60 days after the end of the calendar year, UTC)`
    : large
      ? `${n} individuals (500 or more): with the individual notices, at most 60 calendar days from discovery`
      : `${n} individuals (fewer than 500): log and report within 60 days after the end of the calendar year of discovery (UTC)`;
  const residents = input.maxStateResidents;
  const media: RegulatoryClock["applicability"] =
    residents === undefined ? "conditional" : residents > 500 ? "applies" : "not-applicable";
  return [
    clock(
      {
        id: "hipaa-164.404",
        framework: "HIPAA",
        citation: "45 CFR §164.404",
        role,
        recipient: "affected individuals",
        requirement: "without unreasonable delay, at most 60 calendar days after discovery",
        applicability: "applies",
        basis: "discovery + 60 × 24 h; the outer limit, not a safe harbour",
      },
      d,
      d + SIXTY_DAYS,
    ),
    clock(
      {
        id: "hipaa-164.408",
        framework: "HIPAA",
        citation: "45 CFR §164.408",
        role,
        recipient: "Secretary of HHS",
        requirement:
          "500 or more individuals: within 60 days of discovery; fewer: within 60 days after year end",
        applicability: countKnown ? "applies" : "conditional",
        basis: hhsBasis,
      },
      d,
      hhsDeadline,
    ),
    clock(
      {
        id: "hipaa-164.406",
        framework: "HIPAA",
        citation: "45 CFR §164.406",
        role,
        recipient: "prominent media outlets of the State or jurisdiction",
        requirement: "more than 500 residents of one State or jurisdiction: at most 60 calendar days",
        applicability: media,
        basis:
          residents === undefined
            ? "residents per State not entered: applies if more than 500 residents of one State are affected"
            : `${residents} residents of the most affected State or jurisdiction`,
      },
      d,
      media === "not-applicable" ? null : d + SIXTY_DAYS,
    ),
  ];
}

function businessAssociateClocks(input: ClockInputs): RegulatoryClock[] {
  const d = input.discovered;
  const term = input.baaTermMs;
  const shorter = term !== undefined && term < SIXTY_DAYS;
  return [
    clock(
      {
        id: "hipaa-164.410",
        framework: "HIPAA",
        citation: "45 CFR §164.410",
        role: "HIPAA business associate",
        recipient: "the covered entity",
        requirement:
          "without unreasonable delay, at most 60 calendar days after discovery (or the BAA's shorter term)",
        applicability: "applies",
        basis: shorter
          ? `the business associate agreement's term of ${describeTerm(term)} from discovery`
          : "discovery + 60 × 24 h (no shorter term in the business associate agreement)",
      },
      d,
      d + (shorter ? term : SIXTY_DAYS),
    ),
  ];
}

function controllerClocks(input: ClockInputs): RegulatoryClock[] {
  const d = input.discovered;
  return [
    clock(
      {
        id: "gdpr-33.1",
        framework: "GDPR",
        citation: "GDPR Art. 33(1)",
        role: "GDPR controller",
        recipient: "the competent supervisory authority",
        requirement:
          "without undue delay and, where feasible, within 72 hours of becoming aware; later with reasons for the delay",
        applicability: "applies",
        basis:
          "awareness (the discovery time entered) + 72 h; not owed if the breach is unlikely to result in a risk",
      },
      d,
      d + 72 * HOUR,
    ),
    clock(
      {
        id: "gdpr-34",
        framework: "GDPR",
        citation: "GDPR Art. 34",
        role: "GDPR controller",
        recipient: "the data subjects",
        requirement: "without undue delay when the breach is likely to result in a high risk",
        applicability: "conditional",
        basis: "no fixed deadline; depends on the risk assessment, which this report does not make",
      },
      d,
      null,
    ),
  ];
}

function processorClocks(input: ClockInputs): RegulatoryClock[] {
  const d = input.discovered;
  const term = input.dpaTermMs;
  return [
    clock(
      {
        id: "gdpr-33.2",
        framework: "GDPR",
        citation: "GDPR Art. 33(2)",
        role: "GDPR processor",
        recipient: "the controller",
        requirement: "without undue delay after becoming aware (or the DPA's term)",
        applicability: "applies",
        basis:
          term === undefined
            ? 'no fixed deadline in the regulation ("without undue delay"); the data processing agreement\'s term was not entered: enter it with `containment incident set <id> --dpa-term 24h`'
            : `the data processing agreement's term of ${describeTerm(term)} from awareness`,
      },
      d,
      term === undefined ? null : d + term,
    ),
  ];
}

/**
 * The clocks for the roles given. No role → no clocks (the report says which roles to set).
 *
 * @example
 * regulatoryClocks({ discovered: Date.parse("2026-12-01T21:00:00Z"), gdprRole: "controller" })[0].deadline
 * // "2026-12-04T21:00:00Z"
 */
export function regulatoryClocks(input: ClockInputs): RegulatoryClock[] {
  const out: RegulatoryClock[] = [];
  if (input.hipaaRole === "covered-entity") out.push(...coveredEntityClocks(input));
  if (input.hipaaRole === "business-associate") out.push(...businessAssociateClocks(input));
  if (input.gdprRole === "controller") out.push(...controllerClocks(input));
  if (input.gdprRole === "processor") out.push(...processorClocks(input));
  return out;
}
