import * as v from "valibot";
import type { Verdict } from "../model/verdict.js";
import { DATA_CLASSES, HEADER_NAME, MATCH, RULE_ID, RULE_MODE } from "./common.js";
import { defineRuleKind, type PlacedLater } from "./kind.js";

const HEADER_VALUE = v.pipe(
  v.string(),
  v.maxLength(1024, "must be at most 1024 characters"),
  v.regex(/^[\t\u0020-\u007e]*$/, "must be printable ASCII without line breaks"),
);

/** `headers`: set response headers on matching routes, e.g. `cache-control: private, no-store` on PHI. */
export const HEADERS_RULE = v.strictObject({
  id: RULE_ID,
  kind: v.literal("headers"),
  match: MATCH,
  mode: v.optional(RULE_MODE),
  dataClasses: v.optional(DATA_CLASSES),
  set: v.pipe(
    v.record(HEADER_NAME, HEADER_VALUE),
    v.check((record) => Object.keys(record).length > 0, "must set at least one header"),
  ),
});
export type HeadersRuleSpec = v.InferOutput<typeof HEADERS_RULE>;

function compileHeaders(spec: HeadersRuleSpec): PlacedLater {
  const verdict: Verdict = { action: "headers", headers: Object.freeze({ ...spec.set }) };
  return {
    id: spec.id,
    kind: "headers",
    monitor: spec.mode === "monitor",
    match: spec.match,
    evaluate: () => verdict,
  };
}

export const HEADERS = defineRuleKind({ kind: "headers", schema: HEADERS_RULE, compile: compileHeaders });
