import { Command, InvalidArgumentError } from "commander";
import { rulesetDigest } from "../../core/digest.js";
import { EDGE_CONFIG_SIZE_LIMITS } from "../../dev/edge-config-store.js";
import { readRulesFile } from "../../dev/rules-file.js";
import { fail } from "../errors.js";

type Plan = keyof typeof EDGE_CONFIG_SIZE_LIMITS;

function parsePlan(text: string): Plan {
  if (text in EDGE_CONFIG_SIZE_LIMITS) return text as Plan;
  throw new InvalidArgumentError(`must be one of ${Object.keys(EDGE_CONFIG_SIZE_LIMITS).join(", ")}`);
}

/**
 * `containment rules validate FILE`: the check `rules push` will make, offline. Prints each fault's
 * JSON path, or the rule count and the document's size against the Edge Config plan's store limit
 * (the whole store shares that limit with kill-switch items and the app's own items).
 */
function validateCommand(): Command {
  return new Command("validate")
    .description("validate a rules document and report its size against the Edge Config store limit")
    .argument("<file>", "rules document (JSON)")
    .option(
      "--plan <plan>",
      "Edge Config plan whose store limit applies: hobby, pro, enterprise",
      parsePlan,
      "pro" as Plan,
    )
    .action((file: string, flags: { plan: Plan }) => {
      try {
        const document = readRulesFile(file) as { rules: unknown[] };
        const bytes = new TextEncoder().encode(JSON.stringify(document)).length;
        const limit = EDGE_CONFIG_SIZE_LIMITS[flags.plan];
        const share = ((bytes / limit) * 100).toFixed(1);
        // The digest a region reports while it enforces this document (and no kill-switch items).
        console.log(`ok: ${file}: ${document.rules.length} rules, digest ${rulesetDigest(document)}`);
        console.log(`size: ${bytes} bytes of the ${flags.plan} plan's ${limit} byte store (${share}%)`);
        if (bytes > limit) {
          console.error(`too large: the document alone exceeds the ${flags.plan} plan's Edge Config store`);
          process.exit(1);
        }
      } catch (error) {
        fail(error);
      }
    });
}

export function rulesCommand(): Command {
  return new Command("rules").description("work with rules documents").addCommand(validateCommand());
}
