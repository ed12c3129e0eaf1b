import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { rulesJsonSchemaText } from "./json-schema.js";

const target = fileURLToPath(new URL("../rules/schema.json", import.meta.url));
writeFileSync(target, rulesJsonSchemaText());
console.log(`wrote ${target}`);
