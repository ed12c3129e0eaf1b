import { formatIp, parseIp } from "../../src/core/ip.js";
import { normalizePath } from "../../src/core/path.js";
import { redactPath } from "../../src/core/redact.js";
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
const paths = corpus.map((c) => c.path.split("?")[0]!);
function time(name: string, f: (i: number) => unknown) {
  for (let i = 0; i < 20000; i++) f(i % reqs.length);
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < 50000; i++) f(i % reqs.length);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 50000);
  }
  console.log(name.padEnd(30), best.toFixed(0), "ns");
}
time("normalizeRequest", (i) => normalizeRequest(reqs[i]!));
time("headers iterate", (i) => {
  let n = 0;
  for (const [k, v] of reqs[i]!.headers) n += k.length;
  return n;
});
time("request.url", (i) => reqs[i]!.url);
time("request.method", (i) => reqs[i]!.method);
time("normalizePath", (i) => normalizePath(paths[i]!));
time("split", (i) => paths[i]!.split("/"));
const segs = paths.map((p) => p.split("/").filter(Boolean));
time("redactPath", (i) => redactPath(segs[i]!));
time("parseIp", (i) => parseIp("198.51.3.4"));
time("formatIp", (i) => formatIp(parseIp("198.51.3.4")!));
time("randomUUID", () => crypto.randomUUID());
time("lower map", (i) => segs[i]!.map((s) => s.toLowerCase()));
const REQUEST_ID = /^[\w:.-]{1,128}$/;
time("reqid regex", (i) => REQUEST_ID.test("iad1::abc123-1785542400000"));
time("rawPath", (i) => {
  const url = reqs[i]!.url;
  const a = url.indexOf("//");
  const s = url.indexOf("/", a + 2);
  const e = url.slice(s).search(/[?#]/);
  return e === -1 ? url.slice(s) : url.slice(s, s + e);
});
time("headers get x-real-ip", (i) => reqs[i]!.headers.get("x-real-ip"));
time("headers entries only", (i) => {
  const h = reqs[i]!.headers;
  let n = 0;
  for (const x of h) n++;
  return n;
});
time("fresh Request+normalize", (i) => normalizeRequest(toRequest(corpus[i]!)));
time("fresh Request", (i) => toRequest(corpus[i]!));
