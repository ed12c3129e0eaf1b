import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { rulesJsonSchemaText } from "./json-schema.js";
import { reportJsonSchemaText } from "./report-schema.js";

const rules = fileURLToPath(new URL("../rules/schema.json", import.meta.url));
writeFileSync(rules, rulesJsonSchemaText());
console.log(`wrote ${rules}`);

const report = fileURLToPath(new URL("../docs/report.schema.json", import.meta.url));
mkdirSync(fileURLToPath(new URL("../docs/", import.meta.url)), { recursive: true });
writeFileSync(report, reportJsonSchemaText());
console.log(`wrote ${report}`);
