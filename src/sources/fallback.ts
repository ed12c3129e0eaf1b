/**
 * What the firewall enforces when it has no rules from Edge Config: a project that has not
 * connected Edge Config yet, or a cold start while Edge Config is unreachable.
 *
 * The bundled `rules/default.json` holds a DEMO incident (a kill switch on `/api/patients/*\/export`)
 * for `containment dev`; it must never answer 503 on a user's real app. So the production fallback
 * is the user's own `fallbackRules`, or by default a document that blocks nothing. Routes the user
 * marks `sensitive` decide what a cold start without rules does to them: `closed` (default) answers
 * 503 until Edge Config answers, `open` lets them through.
 */
import { ConfigInvalid } from "../core/errors.js";
import type { RulesDocument } from "../rules/document.js";
import { validateDocument } from "../rules/validate.js";

/** The default fallback: enforce nothing (and say so, once per isolate). */
export const NO_RULES: RulesDocument = { version: 1, mode: "enforce", rules: [] };

export interface SensitiveRoutes {
  /** Rule patterns (`/api/patients/**`), as in a rule's `match.path`. */
  paths: string | readonly string[];
  /** Only these methods; default all. */
  methods?: readonly string[];
  /** While no rules are known: `closed` answers 503 (default), `open` lets requests through. */
  whenRulesUnavailable?: "closed" | "open";
}

export const SENSITIVE_RULE_ID = "sensitive-while-rules-unavailable";

/** What the firewall says, once per isolate, when no rules come from Edge Config (docs/getting-started.md, "What runs without rules"). */
export const FALLBACK_MESSAGES = {
  "not-connected":
    "no EDGE_CONFIG (or GLOBAL_CONFIG) is set: no rules are connected, so the firewall blocks nothing. Connect an Edge Config store to the project and put your rules in its `containment` item",
  "no-document":
    "Edge Config has no valid `containment` item: enforcing the fallback rules and any kill-switch items",
} as const;

/** The kill switch that keeps sensitive routes closed while no rules are known. */
function sensitiveSwitch(sensitive: SensitiveRoutes): Record<string, unknown> {
  const paths = typeof sensitive.paths === "string" ? [sensitive.paths] : [...sensitive.paths];
  return {
    id: SENSITIVE_RULE_ID,
    kind: "kill-switch",
    match: { path: paths, ...(sensitive.methods ? { methods: [...sensitive.methods] } : {}) },
    status: 503,
    message: "This service is temporarily unavailable.",
    reason: "marked sensitive: closed while the firewall's rules are unavailable",
    retryAfter: 5,
  };
}

/** Checks the option once, at setup; a bad pattern throws ERR_CONFIG naming `sensitive.paths`. */
export function checkSensitive(sensitive: SensitiveRoutes | undefined): void {
  if (sensitive === undefined) return;
  const mode = sensitive.whenRulesUnavailable ?? "closed";
  if (mode !== "closed" && mode !== "open")
    throw new ConfigInvalid('sensitive.whenRulesUnavailable must be "closed" or "open"');
  const result = validateDocument({ ...NO_RULES, rules: [sensitiveSwitch(sensitive)] });
  if (!result.ok) {
    const issue = result.issues[0];
    const field = issue?.path.replace(/^\$\.rules\[0\]\.match\.path/, "sensitive.paths") ?? "sensitive";
    throw new ConfigInvalid(`${field}: ${issue?.message ?? "invalid"}`, { issues: result.issues });
  }
}

/**
 * The document for a cold start without an answer from Edge Config: the fallback plus, when
 * sensitive routes fail closed, a kill switch on them. (Kill switches known from the fast lane are
 * added by the rules source, see sources/edge-config.ts; they never depend on this document.)
 */
export function unavailableDocument(
  fallback: RulesDocument,
  sensitive: SensitiveRoutes | undefined,
): RulesDocument {
  if (!sensitive || (sensitive.whenRulesUnavailable ?? "closed") === "open") return fallback;
  const rules = [...fallback.rules, sensitiveSwitch(sensitive)] as RulesDocument["rules"];
  return { ...fallback, rules };
}
