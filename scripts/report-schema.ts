import { toJsonSchema } from "@valibot/to-json-schema";
import { REPORT_SCHEMA_ID } from "../src/ops/report/model.js";
import { REPORT_SCHEMA } from "../src/ops/report/schema.js";

/** The JSON Schema of `containment report --format json` (v1), derived from the schema in code. */
export function reportJsonSchemaText(): string {
  const schema = {
    ...toJsonSchema(REPORT_SCHEMA, { errorMode: "ignore", target: "draft-07" }),
    $id: REPORT_SCHEMA_ID,
    title: "edge-containment incident report (v1)",
    description:
      "Output of `containment report --incident ID --format json`. Times are UTC ISO 8601 with whole seconds. Fields are only added within v1.",
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}
