import * as v from "valibot";
import { CIDR, DATA_CLASSES, ORIGIN, PATH_PATTERN, RULE_MODE, TENANT_ID } from "./common.js";
import { RULE_KINDS, type RuleSpecSchemas } from "./kinds.js";
import { TENANT_SOURCE } from "./tenancy.js";

const KIND_NAMES = RULE_KINDS.map((k) => `"${k.kind}"`);
const RULE = v.variant(
  "kind",
  RULE_KINDS.map((k) => k.schema) as unknown as RuleSpecSchemas,
  `must have a "kind" of ${KIND_NAMES.slice(0, -1).join(", ")} or ${KIND_NAMES.at(-1)}`,
);

/** The rules document (v1), stored in the Edge Config item `containment`. */
export const RULES_DOCUMENT = v.pipe(
  v.strictObject({
    $schema: v.optional(v.string()),
    version: v.literal(1, "must be 1"),
    mode: v.optional(RULE_MODE),
    /** Each tenant's allowed browser origins, for tenant binding. */
    tenants: v.optional(v.record(TENANT_ID, v.strictObject({ origins: v.array(ORIGIN) }))),
    /** How to find a request's tenant for rules that scope by tenant without binding it. */
    tenancy: v.optional(TENANT_SOURCE),
    /** Responder networks that kill switches let through, so responders can verify and repair. */
    breakGlass: v.optional(v.strictObject({ cidrs: v.pipe(v.array(CIDR), v.maxLength(64)) })),
    /**
     * Route pattern → the kinds of data it serves (`{"/api/:tenant/patients/**": ["phi"]}`), for the
     * incident report; rules and kill switches may carry their own `dataClasses` too.
     */
    dataClasses: v.optional(
      v.pipe(
        v.record(PATH_PATTERN, DATA_CLASSES),
        v.check((map) => Object.keys(map).length <= 256, "must map at most 256 route patterns"),
      ),
    ),
    /** Detectors (docs/detection.md): routes no detector may ever contain automatically. */
    detection: v.optional(
      v.strictObject({
        neverContain: v.optional(
          v.pipe(v.array(PATH_PATTERN), v.maxLength(64, "must list at most 64 patterns")),
        ),
      }),
    ),
    rules: v.pipe(v.array(RULE), v.maxLength(20_000, "must hold at most 20000 rules")),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const seen = new Map<string, number>();
    for (const [index, rule] of dataset.value.rules.entries()) {
      const first = seen.get(rule.id);
      if (first !== undefined) {
        addIssue({
          message: `repeats the id ${JSON.stringify(rule.id)} of $.rules[${first}]`,
          path: [
            {
              type: "object",
              origin: "value",
              input: dataset.value,
              key: "rules",
              value: dataset.value.rules,
            },
            { type: "array", origin: "value", input: dataset.value.rules, key: index, value: rule },
            { type: "object", origin: "value", input: rule, key: "id", value: rule.id },
          ],
        });
      } else seen.set(rule.id, index);
    }
  }),
);

export type RulesDocument = v.InferOutput<typeof RULES_DOCUMENT>;
