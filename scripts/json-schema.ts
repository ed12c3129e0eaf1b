import { toJsonSchema } from "@valibot/to-json-schema";
import { RULES_DOCUMENT } from "../src/rules/document.js";
import { KILL_SWITCH_ITEM } from "../src/rules/kill-switch.js";

/**
 * The JSON Schema of the rules document, derived from the one schema in code. Checks written as
 * code (pattern grammar, duplicate ids, CIDR parsing) cannot be expressed in JSON Schema; editors
 * get structure and descriptions from this file, and `containment rules validate` runs the rest.
 */
function rulesJsonSchema(): Record<string, unknown> {
  const document = toJsonSchema(RULES_DOCUMENT, { errorMode: "ignore", target: "draft-07" });
  const killSwitch = toJsonSchema(KILL_SWITCH_ITEM, { errorMode: "ignore", target: "draft-07" });
  return {
    ...document,
    $id: "https://edge-containment.dev/rules/v1/schema.json",
    title: "edge-containment rules document (v1)",
    description:
      "Stored in the Edge Config item `containment`. Kill switches may also be stored one per item `containment_kill_<id>` (see definitions.killSwitchItem).",
    definitions: { killSwitchItem: killSwitch },
  };
}

export function rulesJsonSchemaText(): string {
  return `${JSON.stringify(rulesJsonSchema(), null, 2)}\n`;
}
