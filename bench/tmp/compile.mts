import { compileRuleset } from "../../src/rules/ruleset.js";
import { validateDocument } from "../../src/rules/validate.js";
import { generateDocument } from "../lib/workload.js";

const services = { now: Date.now, fetch, env: {}, report: () => {} } as never;
for (const size of [400, 3000]) {
  const doc = generateDocument(size);
  for (let i = 0; i < 3; i++) {
    validateDocument(doc);
  }
  let t = performance.now();
  for (let i = 0; i < 5; i++) validateDocument(doc);
  const val = (performance.now() - t) / 5;
  const parsed = (validateDocument(doc) as any).value;
  for (let i = 0; i < 3; i++) compileRuleset(parsed, [], "static", services);
  t = performance.now();
  for (let i = 0; i < 5; i++) compileRuleset(parsed, [], "static", services);
  const comp = (performance.now() - t) / 5;
  t = performance.now();
  for (let i = 0; i < 5; i++) JSON.stringify(doc);
  const js = (performance.now() - t) / 5;
  console.log(
    size,
    "validate",
    val.toFixed(2),
    "compile",
    comp.toFixed(2),
    "stringify",
    js.toFixed(2),
    "bytes",
    JSON.stringify(doc).length,
  );
}
