import { formatIp, type IpAddress, parseIp } from "./ip.js";
import { MECHANISMS } from "./mechanisms.js";
import { normalizePath, type PathCandidate, type PathFault, type PathOptions } from "./path.js";
import { randomId } from "./random-id.js";
import { redactPath } from "./redact.js";

/** Where the client address comes from. On Vercel, `x-real-ip` is set by the platform. */
export interface ClientIpOptions {
  /** Header holding the client address; default `x-real-ip`. Never `x-forwarded-for` unless you set it. */
  header?: string;
  /** For comma-separated headers: which entry counting from the right (1 = added by the nearest proxy). */
  hops?: number;
  /**
   * The platform in front of the middleware sets `header` itself and drops any client-sent copy, so
   * the address can be believed. Only then do break-glass CIDRs let a request past a kill switch.
   * Default: true on Vercel (env `VERCEL=1`), false elsewhere (`containment dev` sets it: its front
   * server overwrites `x-real-ip` from the socket).
   */
  trusted?: boolean;
}

export interface NormalizeOptions extends PathOptions {
  clientIp?: ClientIpOptions;
}

/** What every rule matches on: computed once per request, read by all rules. */
export interface NormalizedRequest {
  readonly request: Request;
  /** Upper-cased request method. */
  readonly method: string;
  /** Methods a method-scoped rule is checked against: HEAD also counts as GET, overrides and preflights as theirs. */
  readonly methods: readonly string[];
  /** Lower-cased host without port or trailing dot. */
  readonly host: string;
  readonly paths: readonly PathCandidate[];
  /** The path with identifier-like segments redacted and markup percent-encoded: safe for logs and Redis. */
  readonly displayPath: string;
  readonly ip: IpAddress | undefined;
  /** Canonical text of `ip`. */
  readonly ipText: string | undefined;
  /**
   * The platform vouches for `ip` (ClientIpOptions.trusted) and the header held exactly the one
   * address expected: the only case in which break-glass may be honoured.
   */
  readonly ipTrusted: boolean;
  readonly requestId: string;
  readonly region: string;
}

export type NormalizeResult =
  | { ok: true; request: NormalizedRequest }
  | { ok: false; fault: RequestFault; requestId: string };

export type RequestFault = PathFault | "internal-header" | "internal-query" | "host-invalid";

/**
 * Request headers that only Next.js (between its own router and render workers, or from
 * middleware's answer to its router) or Vercel's routing layer (after middleware) ever set, by their
 * exact names as Next.js 13-16's routing code reads them. No browser, no Next.js client and no
 * Vercel proxy sends them to middleware, so a request carrying one is an attack. Matched exactly:
 * a name that merely resembles one (`x-middleware-version`, `x-invoke-method`, an app's own
 * `x-middleware-timing`) is read by no Next.js version and passes.
 * Deliberately not here: `x-middleware-prefetch` (the Pages Router client sends it on data
 * prefetches), `rsc`, `next-router-*`, `next-action`, `next-url`, `x-nextjs-data`, `purpose` (Next's
 * client sends them), `x-prerender-revalidate*` (on-demand revalidation requests arrive through
 * middleware and carry the preview id Next checks itself), `next-resume` (Next 16 strips it from
 * outside requests itself), and `x-vercel-*`, `x-forwarded-*`, `x-real-ip` (Vercel's proxy sets
 * them on every request).
 */
export const INTERNAL_HEADERS: readonly string[] = [
  // Skips middleware on 11.1.4-15.2.2 (CVE-2025-29927); 15.2.3+ also compare the id.
  "x-middleware-subrequest",
  "x-middleware-subrequest-id",
  // Middleware's answer to the router (13-16): which rewrite, redirect, cookies and headers apply.
  "x-middleware-rewrite",
  "x-middleware-redirect",
  "x-middleware-next",
  "x-middleware-set-cookie",
  "x-middleware-skip",
  "x-middleware-override-headers",
  "x-middleware-refresh",
  "x-middleware-cache",
  // The router server's call into a render worker (13.4-14).
  "x-middleware-invoke",
  "x-invoke-path",
  "x-invoke-query",
  "x-invoke-status",
  "x-invoke-error",
  "x-invoke-output",
  // Set by Vercel's routing after middleware, or between Next's router and a worker.
  "x-matched-path",
  "x-now-route-matches",
  "x-action-forwarded",
  "x-next-resume-state-length",
];
/**
 * The one family Next.js reads by prefix: `x-middleware-request-<name>` carries each request header
 * middleware overrides (`NextResponse.next({ request: { headers } })`), listed by
 * `x-middleware-override-headers`.
 */
export const INTERNAL_HEADER_PREFIXES: readonly string[] = ["x-middleware-request-"];

/**
 * Query keys Next.js's router adds internally for dynamic route values and interception routes
 * (`nxtP<param>`, `nxtI<param>`) and its `__next*` routing metadata. A client that sends them can
 * change the value a page sees while the path stays the same (CVE-2026-44574), so a path-bound rule
 * (a tenant binding on `/api/:tenant/**`) would check one tenant and the page serve another.
 * Compared after percent-decoding the key, as Next's query parser does; `_rsc` (Next's cache
 * buster) is not internal.
 */
const INTERNAL_QUERY = /^(nxtP|nxtI|__next)/;

const INTERNAL = new Set(INTERNAL_HEADERS);
/** `[method]`, frozen and shared, for the methods requests mostly use. */
const PLAIN_METHODS = new Map(
  ["GET", "POST", "PUT", "PATCH", "DELETE"].map((method) => [method, Object.freeze([method])] as const),
);
const METHOD_OVERRIDES = new Set(["x-http-method-override", "x-http-method", "x-method-override"]);
const TOKEN = /^[A-Za-z]{1,20}$/;
const REQUEST_ID = /^[\w:.-]{1,128}$/;
/** RFC 9110 §7.2 Host: a reg-name or IPv4 (letters, digits, `-`, `.`, `_`) or a bracketed IPv6, then an optional port. */
const HOST_SYNTAX = /^(?:[a-z0-9._~-]{1,253}|\[[0-9a-f:.]{2,45}\])(?::\d{0,5})?$/i;

/** `name` is lower-case (Headers iteration yields it so). */
function isInternalHeader(name: string): boolean {
  if (!MECHANISMS.internalHeaders) return false;
  if (INTERNAL.has(name)) return true;
  for (const prefix of INTERNAL_HEADER_PREFIXES) if (name.startsWith(prefix)) return true;
  return false;
}

/** The headers normalization reads, gathered in one pass. */
interface HeaderFacts {
  internal: boolean;
  host: string | undefined;
  vercelId: string | undefined;
  clientIp: string | undefined;
  preflightMethod: string | undefined;
  overrides: string[] | undefined;
}

/**
 * One pass over the headers instead of a `has`/`get` per name: on Node 20 each lookup validates and
 * lower-cases its argument, and the ~20 lookups cost about 3 µs a request, half of normalization.
 * The pass is `forEach`, not `for…of`: in workerd the iterator crosses into the runtime once per
 * header and costs about twice as much (bench/e2e.ts, in-isolate normalization). It yields
 * lower-case names with repeated headers already joined by ", ".
 */
function readHeaders(headers: Headers, ipHeader: string): HeaderFacts {
  const facts: HeaderFacts = {
    internal: false,
    host: undefined,
    vercelId: undefined,
    clientIp: undefined,
    preflightMethod: undefined,
    overrides: undefined,
  };
  headers.forEach((value, name) => {
    if (name === ipHeader) facts.clientIp = value;
    if (name.charCodeAt(0) !== 120 /* x */) {
      if (name === "host") facts.host = value;
      else if (name === "access-control-request-method") facts.preflightMethod = value;
      return;
    }
    if (isInternalHeader(name)) facts.internal = true;
    else if (name === "x-vercel-id") facts.vercelId = value;
    else if (METHOD_OVERRIDES.has(name) && MECHANISMS.overrideHeaders) {
      facts.overrides ??= [];
      facts.overrides.push(value);
    }
  });
  return facts;
}

/**
 * Every method the origin could run for this request. Override headers may arrive repeated (joined
 * by ", ") or as a comma list, and Express-style middleware acts on the first value while others
 * take the last, so each listed value counts; so does a `_method` query parameter (several
 * frameworks' method-override middleware read it). HEAD, sent or named, also counts as GET, since
 * servers answer it with the GET handler.
 */
function effectiveMethods(
  method: string,
  facts: HeaderFacts,
  queryMethods: readonly string[],
): readonly string[] {
  // Most requests name no other method: one shared list per plain method, no closure, no array.
  if (method !== "OPTIONS" && method !== "HEAD" && !facts.overrides && queryMethods.length === 0) {
    const plain = PLAIN_METHODS.get(method);
    if (plain) return plain;
  }
  const methods = [method];
  const add = (value: string | undefined) => {
    for (const part of value?.split(",") ?? []) {
      const trimmed = part.trim();
      if (!trimmed || !TOKEN.test(trimmed)) continue;
      const upper = trimmed.toUpperCase();
      if (!methods.includes(upper)) methods.push(upper);
    }
  };
  if (method === "OPTIONS") add(facts.preflightMethod);
  if (facts.overrides) for (const value of facts.overrides) add(value);
  for (const value of queryMethods) add(value);
  if (MECHANISMS.headAsGet && methods.includes("HEAD")) add("GET");
  return methods;
}

/** What the query string says that rules care about: internal keys, and `_method` overrides. */
interface QueryFacts {
  internal: boolean;
  methods: string[];
}

const NO_QUERY: QueryFacts = { internal: false, methods: [] };

function decodeQueryPart(text: string): string {
  const spaced = text.includes("+") ? text.replaceAll("+", " ") : text;
  if (!spaced.includes("%")) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

function readQuery(url: string): QueryFacts {
  const start = url.indexOf("?");
  if (start === -1) return NO_QUERY;
  const hash = url.indexOf("#", start);
  const query = url.slice(start + 1, hash === -1 ? undefined : hash);
  if (query.length === 0) return NO_QUERY;
  const facts: QueryFacts = { internal: false, methods: [] };
  for (const pair of query.split("&")) {
    const equals = pair.indexOf("=");
    const key = decodeQueryPart(equals === -1 ? pair : pair.slice(0, equals));
    if (MECHANISMS.internalQuery && INTERNAL_QUERY.test(key)) facts.internal = true;
    else if (MECHANISMS.overrideQuery && key.toLowerCase() === "_method" && equals !== -1)
      facts.methods.push(decodeQueryPart(pair.slice(equals + 1)));
  }
  return facts;
}

interface ClientAddress {
  ip: IpAddress | undefined;
  /** One address where one was expected: the header was not a list the client could have started. */
  single: boolean;
}

function clientIp(raw: string | undefined, options: ClientIpOptions | undefined): ClientAddress {
  if (!raw) return { ip: undefined, single: false };
  // The usual header holds one address: no list to split.
  const entries = raw.includes(",") ? raw.split(",") : [raw];
  const pick = entries[entries.length - Math.max(1, options?.hops ?? 1)];
  const single = options?.hops === undefined ? entries.length === 1 : entries.length >= options.hops;
  return { ip: pick === undefined ? undefined : parseIp(pick), single };
}

/** The authority of the request URL: Host as the platform saw it, when no Host header is present. */
function authorityOf(url: string): string {
  const start = url.indexOf("//") + 2;
  const end = url.slice(start).search(/[/?#]/);
  return end === -1 ? url.slice(start) : url.slice(start, start + end);
}

/** Several Host values (RFC 9112 §3.2: answer 400) arrive joined by ", "; userinfo or junk is no authority. */
function validHost(header: string | undefined): boolean {
  if (header === undefined || !MECHANISMS.hostSyntax) return true;
  return HOST_SYNTAX.test(header.trim());
}

function hostOf(header: string | undefined, url: string): string {
  const raw = (header ?? authorityOf(url)).trim().toLowerCase();
  const withoutPort = raw.startsWith("[") ? raw.slice(0, raw.indexOf("]") + 1) : raw.replace(/:\d*$/, "");
  return withoutPort.replace(/\.$/, "");
}

function requestIdOf(platform: string | undefined): string {
  return platform && REQUEST_ID.test(platform) ? platform : randomId();
}

/** Index of the first `?` or `#` at or after `from`, or the length: where a path ends. */
function pathEnd(url: string, from: number): number {
  const query = url.indexOf("?", from);
  const fragment = url.indexOf("#", from);
  if (query === -1) return fragment === -1 ? url.length : fragment;
  return fragment === -1 ? query : Math.min(query, fragment);
}

/** The raw path as sent: `new URL()` already resolved dot segments, so take it from the URL text. */
function rawPathOf(url: string): string {
  const afterScheme = url.indexOf("//");
  const pathStart = url.indexOf("/", afterScheme === -1 ? 0 : afterScheme + 2);
  if (pathStart === -1) return "/";
  // indexOf rather than a slice and a regex search: this runs on every request.
  return url.slice(pathStart, pathEnd(url, pathStart));
}

/**
 * Characters a kept path segment may hold (after its one decode) that mean something to whatever
 * shows the evidence later: markup (`<>"'\``), the `|` that separates the fields of a traffic
 * aggregate, the backslash, `{}^`, whitespace, controls, bidi overrides, and a `/` decoded inside a
 * segment (which would read as a separator).
 */
const UNSAFE_IN_EVIDENCE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: controls are among what is encoded
  /[\u0000-\u0020"'<>\\^`{|}/\u007f-\u009f\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]/g;
const HAS_UNSAFE = new RegExp(UNSAFE_IN_EVIDENCE.source);
const UTF8 = new TextEncoder();

function percentEncode(char: string): string {
  return Array.from(UTF8.encode(char), (byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join(
    "",
  );
}

/**
 * The path as evidence (the mirror, logs, reports): identifier-like segments redacted to `:id`
 * (core/redact.ts), and in the segments kept, every character of UNSAFE_IN_EVIDENCE percent-encoded,
 * so no consumer of the mirror sees markup, a field separator or a control character from a request.
 */
function evidencePath(segments: readonly string[]): string {
  // Almost every path has nothing to encode: one test per segment, then the plain redaction.
  if (!segments.some((segment) => HAS_UNSAFE.test(segment))) return redactPath(segments);
  const kept = segments.map((segment) => redactPath([segment]).slice(1));
  return `/${kept.map((segment) => segment.replace(UNSAFE_IN_EVIDENCE, percentEncode)).join("/")}`;
}

/** Turns a request into what rules match on, or names why it cannot be (answered 400 / 403). */
export function normalizeRequest(
  request: Request,
  options: NormalizeOptions = {},
  region = "local",
): NormalizeResult {
  const facts = readHeaders(request.headers, (options.clientIp?.header ?? "x-real-ip").toLowerCase());
  const requestId = requestIdOf(facts.vercelId);
  if (facts.internal) return { ok: false, fault: "internal-header", requestId };
  if (!validHost(facts.host)) return { ok: false, fault: "host-invalid", requestId };
  const url = request.url;
  const query = readQuery(url);
  if (query.internal) return { ok: false, fault: "internal-query", requestId };
  const path = normalizePath(rawPathOf(url), options);
  if (!path.ok) return { ok: false, fault: path.fault, requestId };
  const method = request.method.toUpperCase();
  const address = clientIp(facts.clientIp, options.clientIp);
  const { ip } = address;
  return {
    ok: true,
    request: {
      request,
      method,
      methods: effectiveMethods(method, facts, query.methods),
      host: hostOf(facts.host, url),
      paths: path.candidates,
      displayPath: evidencePath(path.candidates[0]?.segments ?? []),
      ip,
      ipText: ip ? formatIp(ip) : undefined,
      ipTrusted:
        ip !== undefined &&
        (!MECHANISMS.breakGlassTrust || (options.clientIp?.trusted === true && address.single)),
      requestId,
      region,
    },
  };
}
