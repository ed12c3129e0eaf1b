import { normalizeRequest } from "../../src/core/request.js";
import { generateCorpus, generateDocument, toRequest } from "../lib/workload.js";

const doc = generateDocument(100);
const corpus = await generateCorpus(doc, 2048, async (e) =>
  e.intent === "kill-switch" || e.intent === "spelling-variant"
    ? "blocked"
    : e.intent === "headers"
      ? "headers"
      : "none",
);
const reqs = corpus.map(toRequest);
const t = Date.now();
let n = 0;
while (Date.now() - t < 3000)
  for (let i = 0; i < 2048; i++) {
    normalizeRequest(reqs[i]!);
    n++;
  }
console.log(3e9 / n, "ns");
