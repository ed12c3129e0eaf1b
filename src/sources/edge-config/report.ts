/**
 * What the rules source tells operators: which rules are in force and why, in
 * one sentence a responder can act on, plus structured fields for the mirror.
 */
import type { CompiledRuleset } from "../../rules/ruleset.js";
import type { OutageReport } from "./outage.js";

export interface InForce {
  /** `edge-config`: the last good document from Edge Config; `fallback`: the bundled fallback rules. */
  inForce: CompiledRuleset["source"];
  digest: string;
  /** Kill switches in force, `id@version`. */
  switches: readonly string[];
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** "the rules loaded from Edge Config at … (digest …) stay in force" or the fallback's reason. */
export function describeInForce(ruleset: CompiledRuleset, everLoaded: boolean): string {
  const switches = ruleset.rules.filter((rule) => rule.kind === "kill-switch").length;
  const withSwitches = switches === 0 ? "" : ` (${switches} kill switch${switches === 1 ? "" : "es"})`;
  if (ruleset.source === "edge-config")
    return `the rules loaded from Edge Config at ${new Date(ruleset.compiledAt).toISOString()} (digest ${ruleset.digest})${withSwitches} stay in force`;
  const why = everLoaded
    ? "no valid rules document has been loaded from Edge Config in this isolate"
    : "this isolate has not loaded rules from Edge Config yet (cold start)";
  return `${why}, so the fallback rules (digest ${ruleset.digest})${withSwitches} are in force`;
}

export function outageMessage(report: OutageReport, inForce: string): string {
  switch (report.state) {
    case "down":
      return `Edge Config unreachable (${report.message}); ${inForce}`;
    case "still-down":
      return `Edge Config still unreachable after ${report.attempts} attempts over ${seconds(report.downForMs)} (${report.message}); ${inForce}`;
    case "recovered":
      return `Edge Config answers again after ${seconds(report.downForMs)} and ${report.attempts} failed attempt${report.attempts === 1 ? "" : "s"}`;
  }
}

export function invalidMessage(faults: number, inForce: string): string {
  return `rejected ${faults} fault${faults === 1 ? "" : "s"} in what Edge Config serves; ${inForce}`;
}
