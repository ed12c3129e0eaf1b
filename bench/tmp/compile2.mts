import { compileRuleset } from "../../src/rules/ruleset.js";
import { validateDocument } from "../../src/rules/validate.js";
import { generateDocument } from "../lib/workload.js";

const services = { now: Date.now, fetch, env: {}, report: () => {} } as never;
const doc = generateDocument(3000);
const parsed = (validateDocument(doc) as any).value;
const t = Date.now();
while (Date.now() - t < 4000) {
  compileRuleset(parsed, [], "static", services);
  validateDocument(doc);
}
