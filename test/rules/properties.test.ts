/**
 * Property tests (fast-check). In CI (CI=true) the seed is fixed so a run is reproducible; locally
 * it is random and printed, so a failure names the seed to replay (`FC_SEED=… npx vitest run …`).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, rulesetDigest } from "../../src/core/digest.js";
import { formatIp, parseIp } from "../../src/core/ip.js";
import { normalizePath, normalizePathGeneral, type PathOptions, takesFastPath } from "../../src/core/path.js";
import { normalizeRequest } from "../../src/core/request.js";
import { createContainment } from "../../src/engine/firewall.js";
import { type PatternSegment, parsePattern } from "../../src/rules/pattern.js";
import { RouteTrie, type TrieMatch } from "../../src/rules/trie.js";

const SEED = process.env.FC_SEED
  ? Number(process.env.FC_SEED)
  : process.env.CI
    ? 20_261_201
    : Math.floor(Math.random() * 2 ** 31);
console.log(`fast-check seed ${SEED}${process.env.CI ? " (fixed in CI)" : " (random; FC_SEED=… replays)"}`);
fc.configureGlobal({ seed: SEED, numRuns: 300 });

/** Path text with the characters normalization cares about, and percent-encodings of them. */
const PIECES = [
  "/",
  "//",
  "\\",
  ".",
  "..",
  ";",
  "a",
  "B",
  "x",
  "export",
  "%2F",
  "%2f",
  "%5C",
  "%2e",
  "%25",
  "%",
  "%41",
  "%zz",
  "%C3%A9",
  "%00",
  " ",
  "~",
  "_",
  "-",
  ".rsc",
  ".segments",
];
const rawPath = fc.array(fc.constantFrom(...PIECES), { maxLength: 14 }).map((parts) => `/${parts.join("")}`);

describe("path normalization", () => {
  it("never throws and is idempotent on its primary reading", () => {
    fc.assert(
      fc.property(rawPath, (path) => {
        const once = normalizePath(path);
        if (!once.ok) return;
        const primary = once.candidates[0]?.segments ?? [];
        const again = normalizePath(`/${primary.map(encodeURIComponent).join("/")}`);
        expect(again.ok).toBe(true);
        if (again.ok) expect(again.candidates[0]?.segments).toEqual(primary);
      }),
    );
  });

  it("never throws on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        normalizePath(text);
      }),
    );
  });
});

/**
 * Segments spelling every form a normalization step acts on: Next.js data, RSC and segment-prefetch
 * suffixes, base path and locale prefixes, encoded separators and dots, `;params`, dot segments,
 * trailing dots, case (including letters whose lower case differs by context) and fullwidth letters.
 */
const FORM_SEGMENTS = [
  "api",
  "API",
  "x",
  "export",
  "Export",
  "docs",
  "Docs",
  "en",
  "EN",
  "de",
  "_next",
  "_NEXT",
  "data",
  "Data",
  "b1",
  "index",
  "index.json",
  "x.json",
  "X.JSON",
  "export.rsc",
  "export.RSC",
  "page.prefetch.rsc",
  ".rsc",
  "export.segments",
  "x.Segments",
  ".segments",
  "__PAGE__.segment.rsc",
  "_tree.segment.rsc",
  "a;b=1",
  ";",
  ".",
  "..",
  "...",
  "a.",
  "",
  "%2F",
  "%2f",
  "a%2Fb",
  "%2e%2e",
  "%5C",
  "%65xport",
  "%",
  "a\\b",
  "ｅｘｐｏｒｔ",
  "%EF%BD%85",
  "ΑΣ",
  "İ",
  "ß",
];
const formPath = fc
  .tuple(fc.array(fc.constantFrom(...FORM_SEGMENTS), { maxLength: 7 }), fc.boolean())
  .map(([segments, trailing]) => `/${segments.join("/")}${trailing && segments.length > 0 ? "/" : ""}`);
const pathOptions: fc.Arbitrary<PathOptions> = fc.record(
  {
    basePath: fc.constantFrom("/docs", "/Docs/", "/docs/en"),
    locales: fc.constantFrom(["en", "de"], ["EN"], []),
  },
  { requiredKeys: [] },
);

describe("the normalization fast path", () => {
  it("gives the same candidates as the general path on random paths of every form, and is taken often", () => {
    let fast = 0;
    let general = 0;
    fc.assert(
      fc.property(formPath, pathOptions, (path, options) => {
        if (takesFastPath(path, options)) fast++;
        else general++;
        expect(normalizePath(path, options)).toEqual(normalizePathGeneral(path, options));
      }),
      { numRuns: 2_000 },
    );
    // Both paths must be exercised for the comparison to mean anything.
    expect(fast).toBeGreaterThan(100);
    expect(general).toBeGreaterThan(100);
  });
});

/** IPv4 parsing as first written (split, a regex per octet), and the text of an address from its octets. */
function referenceV4(text: string): string | undefined {
  const trimmed = text.trim().replace(/^\[(.*)\]$/, "$1");
  if (trimmed.length === 0 || trimmed.length > 64 || trimmed.includes(":")) return undefined;
  const parts = trimmed.split(".");
  if (parts.length !== 4) return undefined;
  for (const part of parts) if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
  return parts.join(".");
}

describe("IPv4 parsing", () => {
  it("accepts exactly what the regex-per-octet parser accepted, with the same canonical text", () => {
    const text = fc
      .array(
        fc.constantFrom(
          "0",
          "1",
          "2",
          "5",
          "9",
          "25",
          "255",
          "256",
          "01",
          ".",
          "..",
          " ",
          "[",
          "]",
          "x",
          "\n",
        ),
        {
          maxLength: 10,
        },
      )
      .map((parts) => parts.join(""));
    const octet = fc.oneof(fc.nat(300).map(String), fc.constantFrom("00", "01", "010", "0255", "", " 1"));
    const quad = fc.array(octet, { minLength: 3, maxLength: 5 }).map((octets) => octets.join("."));
    fc.assert(
      fc.property(fc.oneof(text, quad), (input) => {
        const parsed = parseIp(input);
        const expected = referenceV4(input);
        if (input.includes(":")) return;
        expect(parsed === undefined ? undefined : formatIp(parsed)).toBe(expected);
      }),
      { numRuns: 2_000 },
    );
  });
});

/** Canonical JSON as first written (entries, filter, sort, map, join): the digest must not change. */
function referenceCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((item) => referenceCanonicalJson(item ?? null)).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, member]) => member !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${referenceCanonicalJson(member)}`).join(",")}}`;
}

/** FNV-1a 2×32 over a whole text, as the digest was first computed from the canonical text. */
function referenceFnv(text: string): string {
  let a = 0x811c9dc5;
  let b = 0xcbf29ce4;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193) >>> 0;
    b = Math.imul(b ^ code ^ (a >>> 24), 0x01000193) >>> 0;
  }
  return a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0");
}

describe("the ruleset digest's canonical JSON", () => {
  // Strings with quotes, backslashes, controls and lone surrogates: what JSON.stringify escapes.
  const text = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }));
  const value = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: "small" },
      fc.constantFrom(null, undefined, true, 0, -1.5, Number.NaN, "", "é", "\u2028", 'a"b', "\ud800", "\\\n"),
      text,
      fc.array(tie("node"), { maxLength: 4 }),
      fc.dictionary(text, tie("node"), { maxKeys: 5 }),
    ),
  })).node;

  it("gives the digest of the text the first implementation built, without building it", () => {
    const item = fc.record({ key: fc.string({ maxLength: 12 }), spec: value });
    fc.assert(
      fc.property(value, fc.array(item, { maxLength: 3 }), (document, switches) => {
        const sorted = [...switches].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
        const text = referenceCanonicalJson([document, sorted.map(({ key, spec }) => [key, spec])]);
        expect(rulesetDigest(document, switches)).toBe(referenceFnv(text));
      }),
      { numRuns: 1_000 },
    );
  });

  it("is the text the first implementation gave, for any JSON value with undefined members", () => {
    fc.assert(
      fc.property(value, (input) => {
        expect(canonicalJson(input)).toBe(referenceCanonicalJson(input));
      }),
      { numRuns: 1_000 },
    );
  });
});

describe("the raw path of a request", () => {
  it("is the URL text from the path's / to the first ? or #, as the slice-and-search reading took it", () => {
    const suffix = fc.constantFrom("", "?", "?a=/b", "?x=1#f/g", "#frag", "#a?b", "?a#b?c", "?/");
    fc.assert(
      fc.property(rawPath, suffix, (path, tail) => {
        const request = new Request(`https://app.example.com${path}${tail}`);
        const url = request.url;
        const start = url.indexOf("/", url.indexOf("//") + 2);
        const end = url.slice(start).search(/[?#]/);
        const expected = normalizePath(end === -1 ? url.slice(start) : url.slice(start, start + end));
        const result = normalizeRequest(request);
        if (!expected.ok) expect(result.ok).toBe(false);
        else expect(result.ok && result.request.paths).toEqual(expected.candidates);
      }),
    );
  });
});

/** A reference matcher written as plainly as possible: segment by segment, recursion for `**`. */
function referenceMatch(pattern: readonly PatternSegment[], lower: readonly string[]): boolean {
  const [head, ...rest] = pattern;
  if (head === undefined) return lower.length === 0;
  if (head.type === "rest") return true;
  const [segment, ...others] = lower;
  if (segment === undefined) return false;
  if (head.type === "literal" && head.value !== segment) return false;
  return referenceMatch(rest, others);
}

const patternText = fc
  .tuple(fc.array(fc.constantFrom("a", "b", "export", ":p", ":q", "*"), { maxLength: 4 }), fc.boolean())
  .map(([parts, rest]) => {
    // Parameter names must be unique within a pattern.
    let n = 0;
    const named = parts.map((part) => (part.startsWith(":") ? `:p${n++}` : part));
    const all = rest ? [...named, "**"] : named;
    return all.length === 0 ? "/" : `/${all.join("/")}`;
  });

describe("the compiled route matcher", () => {
  it("agrees with the reference matcher on random patterns and random (encoded) paths", () => {
    const pathPiece = fc.constantFrom("a", "A", "b", "export", "EXPORT", "%61", "%2F", "x", "..", ".", "");
    const path = fc.array(pathPiece, { maxLength: 6 }).map((parts) => `/${parts.join("/")}`);
    fc.assert(
      fc.property(fc.array(patternText, { minLength: 1, maxLength: 6 }), path, (patterns, raw) => {
        const normalized = normalizePath(raw);
        if (!normalized.ok) return;
        const trie = new RouteTrie<number>();
        const parsed = patterns.map((text) => parsePattern(text) as PatternSegment[]);
        for (const [index, segments] of parsed.entries())
          trie.insert(patterns[index] as string, segments, index);
        for (const [index, candidate] of normalized.candidates.entries()) {
          const hits: TrieMatch<number>[] = [];
          trie.collect(candidate.lower, index, hits);
          const got = new Set(hits.map((hit) => hit.entry.value));
          const want = new Set(
            parsed.flatMap((segments, i) => (referenceMatch(segments, candidate.lower) ? [i] : [])),
          );
          expect(got).toEqual(want);
        }
      }),
    );
  });
});

const TOKEN_CHARS = fc.constantFrom(
  "GET",
  "delete",
  "Put",
  "HEAD",
  "PATCH",
  "x y",
  "",
  "  post ",
  "G3T",
  "ÄÖ",
  ";",
);

describe("the method set of a request", () => {
  it("contains every method an override header or _method could name, HEAD adding GET", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("GET", "POST", "HEAD", "OPTIONS"),
        fc.array(fc.array(TOKEN_CHARS, { minLength: 1, maxLength: 3 }), { maxLength: 3 }),
        fc.array(TOKEN_CHARS, { maxLength: 2 }),
        (method, headerValues, queryValues) => {
          const headers = new Headers();
          for (const value of headerValues) headers.append("x-http-method-override", value.join(","));
          const query = queryValues.map((value) => `_method=${encodeURIComponent(value)}`).join("&");
          const request = new Request(`https://app.example/x${query ? `?${query}` : ""}`, {
            method,
            headers,
          });
          const result = normalizeRequest(request);
          expect(result.ok).toBe(true);
          if (!result.ok) return;
          const named = [...headerValues.flat(), ...queryValues]
            .flatMap((value) => value.split(","))
            .map((value) => value.trim())
            .filter((value) => /^[A-Za-z]{1,20}$/.test(value))
            .map((value) => value.toUpperCase());
          for (const name of [method, ...named]) expect(result.request.methods).toContain(name);
          if ([method, ...named].includes("HEAD")) expect(result.request.methods).toContain("GET");
        },
      ),
    );
  });
});

const PUBLIC_KEYS = new Set(["error", "rule", "incident", "requestId"]);
const firewall = createContainment({
  rules: {
    version: 1,
    tenants: { acme: { origins: ["https://acme.example.com"] } },
    rules: [
      { id: "k", kind: "kill-switch", match: { path: "/api/*/export", methods: ["GET", "DELETE"] } },
      {
        id: "b",
        kind: "tenant-binding",
        match: { path: "/t/:tenant/**" },
        tenant: { from: "path", param: "tenant" },
        token: { claim: "org_id", secretEnv: "S", algorithms: ["HS256"] },
      },
    ],
  },
  env: { S: "s".repeat(40) },
  mirror: false,
  onReport: () => {},
});

describe("the evaluator", () => {
  it("gives every random request a defined outcome and a public answer", async () => {
    const headerName = fc.constantFrom(
      "x-http-method-override",
      "host",
      "origin",
      "authorization",
      "x-real-ip",
      "cookie",
      "x-middleware-skip",
      "sec-fetch-site",
      "x-custom",
    );
    const headerValue = fc.string({
      maxLength: 40,
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    });
    const pathText = fc.string({
      maxLength: 60,
      unit: fc.constantFrom(
        "/",
        "t",
        "acme",
        "api",
        "export",
        "%",
        "2",
        "F",
        "e",
        ".",
        "\\",
        ";",
        "?",
        "&",
        "=",
        "_method",
        "nxtP",
        "a",
        " ",
      ),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "POST", "DELETE", "HEAD", "OPTIONS", "PUT"),
        pathText,
        fc.array(fc.tuple(headerName, headerValue), { maxLength: 5 }),
        async (method, path, pairs) => {
          let request: Request;
          try {
            const headers = new Headers();
            for (const [name, value] of pairs) headers.append(name, value);
            request = new Request(`https://app.example/${path}`, { method, headers });
          } catch {
            return; // not a request any runtime could hand the middleware
          }
          const { decision, response } = await firewall.decide(request);
          expect(["allow", "block", "rate-limited", "monitor", "error"]).toContain(decision.outcome);
          if (!response) return;
          expect([204, 400, 401, 403, 414, 503]).toContain(response.status);
          const text = await response.text();
          if (text.length === 0) return;
          const body = JSON.parse(text) as Record<string, unknown>;
          expect(Object.keys(body).every((key) => PUBLIC_KEYS.has(key))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
