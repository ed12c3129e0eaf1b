import type { Services } from "../model/services.js";
import type { RulesDocument } from "../rules/document.js";
import { type CompiledRuleset, compileRuleset } from "../rules/ruleset.js";
import type { RulesProvider, SourceStatus } from "./provider.js";

/** Rules fixed at build time (tests, or a project without Edge Config). */
export function staticRules(
  document: RulesDocument,
  services: Services,
  source: CompiledRuleset["source"] = "static",
): RulesProvider {
  const ruleset = compileRuleset(document, [], source, services);
  const status: SourceStatus = { source, digest: ruleset.digest, loadedAt: ruleset.compiledAt };
  return { current: () => ruleset, status: () => status };
}
