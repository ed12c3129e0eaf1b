/**
 * The synthetic but realistic workload of the rule-evaluation benchmark: a rules document of N
 * rules of mixed kinds over a B2B SaaS API vocabulary, and a corpus of requests against it (hits and
 * misses). Both are generated from a fixed seed, so every run measures the same thing.
 *
 * Rate-limit and tenant-binding rules are in the document (the trie holds them and the method filter
 * rejects them on every request that reaches their routes) but only for POST/PUT/PATCH, which the
 * corpus never sends: evaluating them would call Redis or a JWKS endpoint, and this benchmark measures
 * the matching and evaluation engine, not the network. Their network cost is measured by `roundtrips`.
 */
import { type Random, seeded } from "./random.js";

const RESOURCES = [
  "patients",
  "orders",
  "invoices",
  "users",
  "reports",
  "documents",
  "claims",
  "accounts",
  "payments",
  "shipments",
  "prescriptions",
  "appointments",
  "encounters",
  "labs",
  "messages",
  "contracts",
  "customers",
  "products",
  "carts",
  "refunds",
  "subscriptions",
  "teams",
  "projects",
  "files",
  "records",
  "members",
  "audits",
  "datasets",
  "tickets",
  "notes",
] as const;
const ACTIONS = [
  "export",
  "download",
  "share",
  "attachments",
  "history",
  "summary",
  "comments",
  "pdf",
  "csv",
  "archive",
  "transfer",
  "sync",
  "preview",
  "print",
  "links",
  "copy",
  "merge",
  "restore",
  "access",
  "metadata",
] as const;
const VERSIONS = ["v1", "v2", "v3"] as const;
const SERVICES = ["billing", "clinical", "identity", "storage", "search", "analytics"] as const;
/** Methods only the never-evaluated kinds use; the corpus sends none of them. */
const WRITE_METHODS = ["POST", "PUT", "PATCH"];

export const SEED = 20_260_801;

export type RuleKind = "kill-switch" | "headers" | "rate-limit" | "tenant-binding";

export interface GeneratedRule {
  id: string;
  kind: RuleKind;
  match: { path: string; methods?: string[]; tenants?: string[] };
  [field: string]: unknown;
}

export interface GeneratedDocument {
  version: 1;
  tenancy: { from: "path"; param: "tenant"; pattern: string };
  rules: GeneratedRule[];
}

export interface CorpusRequest {
  method: string;
  /** Raw path as sent, possibly percent-encoded or oddly spelled. */
  path: string;
  headers: Record<string, string>;
  /** What the generator aimed at; the measured outcome mix is reported separately. */
  intent: "kill-switch" | "headers" | "miss" | "spelling-variant";
}

const tenantName = (n: number): string => `t${String(n).padStart(4, "0")}`;

function killSwitch(random: Random, id: string): GeneratedRule {
  const version = random.pick(VERSIONS);
  const resource = random.pick(RESOURCES);
  const action = random.pick(ACTIONS);
  const base = { id, kind: "kill-switch" as const, status: 503, reason: "benchmark", incident: `INC-${id}` };
  switch (random.int(4)) {
    case 0:
      return { ...base, match: { path: `/api/${version}/${resource}/:id/${action}` } };
    case 1:
      return { ...base, match: { path: `/api/${resource}/*/${action}/**` } };
    case 2:
      // Tenant-scoped: the shape of most incident switches ("block exports for tenant acme").
      return {
        ...base,
        match: { path: `/api/:tenant/${resource}/${action}`, tenants: [tenantName(random.int(500))] },
      };
    default:
      return {
        ...base,
        match: {
          path: `/${random.pick(SERVICES)}/${version}/${resource}/:id/${action}`,
          methods: random.next() < 0.5 ? ["DELETE"] : ["GET", "DELETE"],
        },
      };
  }
}

function headersRule(random: Random, id: string): GeneratedRule {
  const version = random.pick(VERSIONS);
  const resource = random.pick(RESOURCES);
  const set = { "cache-control": "private, no-store" };
  switch (random.int(3)) {
    case 0:
      return { id, kind: "headers", match: { path: `/api/${version}/${resource}/**` }, set };
    case 1:
      return {
        id,
        kind: "headers",
        match: { path: `/api/${version}/${resource}/:id/${random.pick(ACTIONS)}` },
        set: { "x-robots-tag": "noindex" },
      };
    default:
      return {
        id,
        kind: "headers",
        match: { path: `/${random.pick(SERVICES)}/${version}/${resource}/**` },
        set,
      };
  }
}

function rateLimit(random: Random, id: string): GeneratedRule {
  const resource = random.pick(RESOURCES);
  const action = random.pick(ACTIONS);
  const path =
    random.next() < 0.5
      ? `/api/:tenant/${resource}/:id/${action}`
      : `/api/${random.pick(VERSIONS)}/${resource}/:id/${action}`;
  return {
    id,
    kind: "rate-limit",
    match: { path, methods: [random.pick(WRITE_METHODS)] },
    limit: 20,
    window: "1m",
    algorithm: "sliding-window",
    by: ["tenant", "ip"],
    failMode: "open",
  };
}

function tenantBinding(random: Random, id: string): GeneratedRule {
  const resource = random.pick(RESOURCES);
  const path =
    random.next() < 0.5
      ? `/api/:tenant/${resource}/**`
      : `/${random.pick(SERVICES)}/:tenant/${resource}/:id/${random.pick(ACTIONS)}`;
  return {
    id,
    kind: "tenant-binding",
    match: { path, methods: WRITE_METHODS },
    tenant: { from: "path", param: "tenant" },
    token: {
      from: "authorization",
      claim: "org_id",
      jwks: "https://id.example.com/.well-known/jwks.json",
      algorithms: ["RS256"],
    },
    origin: "required-for-unsafe-methods",
  };
}

/** Rules every realistic set has, whatever its size. */
function fixedRules(): GeneratedRule[] {
  return [
    {
      id: "phi-no-store",
      kind: "headers",
      match: { path: "/api/patients/**" },
      set: { "cache-control": "private, no-store" },
    },
    {
      id: "export-freeze",
      kind: "kill-switch",
      match: { path: "/api/patients/*/export" },
      status: 503,
      incident: "INC-2041",
    },
  ];
}

/**
 * `shared`: routes drawn from a fixed vocabulary, so large documents pile rules on the same routes
 * (~7 headers rules per /api/<version>/<resource>/** route at 10,000 rules). `distinct`: the same
 * kinds and shapes, but each rule's resource segment is its own (`patients-r17`), so every rule sits
 * on a route of its own, as in a document that grows by adding routes.
 */
export type Shape = "shared" | "distinct";

const RESOURCE_SEGMENT = new RegExp(`/(${RESOURCES.join("|")})(?=/|$)`);

function distinctRoute(path: string, id: string): string {
  return path.replace(RESOURCE_SEGMENT, (_, resource: string) => `/${resource}-${id}`);
}

/**
 * N rules: 60% kill switches, 20% headers, 10% rate limits, 10% tenant bindings, with no two rules of
 * one kind on the same match (a real document would not repeat itself).
 */
export function generateDocument(size: number, seed = SEED, shape: Shape = "shared"): GeneratedDocument {
  const random = seeded(seed + size);
  const rules = fixedRules().slice(0, size);
  const seen = new Set(rules.map((rule) => JSON.stringify([rule.kind, rule.match])));
  while (rules.length < size) {
    const id = `r${rules.length}`;
    const roll = random.next();
    let rule: GeneratedRule | undefined;
    for (let attempt = 0; attempt < 50; attempt++) {
      const candidate =
        roll < 0.6
          ? killSwitch(random, id)
          : roll < 0.8
            ? headersRule(random, id)
            : roll < 0.9
              ? rateLimit(random, id)
              : tenantBinding(random, id);
      if (shape === "distinct") candidate.match.path = distinctRoute(candidate.match.path, id);
      const key = JSON.stringify([candidate.kind, candidate.match]);
      if (!seen.has(key) || attempt === 49) {
        seen.add(key);
        rule = candidate;
        break;
      }
    }
    if (rule) rules.push(rule);
  }
  return { version: 1, tenancy: { from: "path", param: "tenant", pattern: "/api/:tenant/**" }, rules };
}

function identifier(random: Random): string {
  return random.next() < 0.5
    ? String(100_000 + random.int(900_000))
    : `${random.int(0xffffff).toString(16)}-${random.int(0xffff).toString(16)}`;
}

/** A concrete path a pattern matches. */
function instantiate(random: Random, rule: GeneratedRule): string {
  const parts = rule.match.path.split("/").slice(1);
  const out: string[] = [];
  for (const part of parts) {
    if (part === ":tenant") out.push(rule.match.tenants?.[0] ?? tenantName(random.int(500)));
    else if (part.startsWith(":") || part === "*") out.push(identifier(random));
    else if (part === "**") for (let i = random.int(3); i > 0; i--) out.push(random.pick(ACTIONS));
    else out.push(part);
  }
  return `/${out.join("/")}`;
}

/** Spellings a hand-written matcher often misses but the firewall's normalization folds together. */
function variant(random: Random, path: string): string {
  const last = path.lastIndexOf("/");
  switch (random.int(4)) {
    case 0:
      return `${path}/`;
    case 1:
      return path.toUpperCase();
    case 2:
      return `${path.slice(0, last)}/%${path.charCodeAt(last + 1).toString(16)}${path.slice(last + 2)}`;
    default:
      return path.replace("/api/", "/api//");
  }
}

function missPath(random: Random): string {
  switch (random.int(6)) {
    case 0:
      return `/_next/static/chunks/${random.int(0xffffffff).toString(16)}.js`;
    case 1:
      return random.pick(["/", "/dashboard", "/settings/profile", "/login", "/pricing", "/favicon.ico"]);
    case 2:
      return `/${tenantName(random.int(500))}/projects/${identifier(random)}`;
    case 3:
      return `/api/${random.pick(VERSIONS)}/${random.pick(RESOURCES)}/${identifier(random)}`;
    case 4:
      return `/api/${random.pick(VERSIONS)}/${random.pick(RESOURCES)}?page=${random.int(50)}&limit=50`;
    default:
      return `/api/health`;
  }
}

function headersFor(random: Random): Record<string, string> {
  return {
    host: "app.example.com",
    "x-real-ip": `198.51.${random.int(256)}.${random.int(256)}`,
    "x-vercel-id": `iad1::${random.int(0xffffff).toString(16)}-${Date.UTC(2026, 7, 1)}`,
    "user-agent": "Mozilla/5.0 (X11; Linux x86_64) bench",
    accept: "application/json",
  };
}

export type Outcome = "blocked" | "headers" | "none";

/** Share of each outcome in the corpus, the same at every rule count so sizes compare fairly. */
export const CORPUS_MIX = { killSwitch: 0.15, variant: 0.05, headers: 0.3, none: 0.5 } as const;

/**
 * `count` requests with a fixed outcome mix: 15% hit a kill switch, 5% hit one through a spelling
 * variant (trailing slash, upper case, percent-encoding, doubled slash), 30% get headers from a
 * headers rule, 50% match nothing (assets, pages, unruled API paths). Generated candidates are kept
 * only when `classify` (the firewall's own answer) confirms the aimed-at outcome: with 10,000 rules
 * many "misses" would otherwise hit, and the sizes would measure different mixes. Only GET, HEAD and
 * DELETE, so no rate-limit or tenant-binding rule is evaluated.
 */
export async function generateCorpus(
  document: GeneratedDocument,
  count: number,
  classify: (entry: CorpusRequest) => Promise<Outcome>,
  seed = SEED,
): Promise<CorpusRequest[]> {
  const random = seeded(seed * 7 + document.rules.length);
  const kills = document.rules.filter((rule) => rule.kind === "kill-switch");
  const anyMethodKills = kills.filter((rule) => rule.match.methods === undefined);
  const headers = document.rules.filter((rule) => rule.kind === "headers");
  const quota = (share: number) => Math.round(count * share);
  const plan: Array<{
    intent: CorpusRequest["intent"];
    want: Outcome;
    n: number;
    make: () => Omit<CorpusRequest, "intent" | "headers">;
  }> = [
    {
      intent: "kill-switch",
      want: "blocked",
      n: quota(CORPUS_MIX.killSwitch),
      make: () => {
        const rule = random.pick(kills);
        const methods = rule.match.methods;
        const method =
          methods === undefined || methods.includes("GET")
            ? random.next() < 0.1
              ? "HEAD"
              : "GET"
            : "DELETE";
        return { method, path: instantiate(random, rule) };
      },
    },
    {
      intent: "spelling-variant",
      want: "blocked",
      n: quota(CORPUS_MIX.variant),
      make: () => ({
        method: "GET",
        path: variant(random, instantiate(random, random.pick(anyMethodKills))),
      }),
    },
    {
      intent: "headers",
      want: "headers",
      n: quota(CORPUS_MIX.headers),
      make: () => ({ method: "GET", path: instantiate(random, random.pick(headers)) }),
    },
  ];
  plan.push({
    intent: "miss",
    want: "none",
    n: count - plan.reduce((sum, p) => sum + p.n, 0),
    make: () => ({ method: random.next() < 0.9 ? "GET" : "HEAD", path: missPath(random) }),
  });

  const out: CorpusRequest[] = [];
  for (const { intent, want, n, make } of plan) {
    let kept = 0;
    for (let attempt = 0; kept < n; attempt++) {
      if (attempt > n * 50)
        throw new Error(`cannot generate ${n} "${intent}" requests for ${document.rules.length} rules`);
      const entry: CorpusRequest = { ...make(), headers: headersFor(random), intent };
      if ((await classify(entry)) !== want) continue;
      out.push(entry);
      kept++;
    }
  }
  return random.shuffle(out);
}

export function toRequest(entry: CorpusRequest): Request {
  return new Request(`https://app.example.com${entry.path}`, {
    method: entry.method,
    headers: entry.headers,
  });
}
