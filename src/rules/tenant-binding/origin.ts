/**
 * Origin policy of a tenant-bound route: which browser origins may call it for a given tenant, and
 * the CORS headers granted to them. Origins are compared as whole serialized strings (scheme, host,
 * port), never parsed or suffix-matched, so `https://acme.example.com.evil.com`,
 * `http://acme.example.com` and `https://acme.example.com:8443` are simply different strings.
 */

export type OriginMode = "required" | "required-for-unsafe-methods" | "off";
export type FetchSite = "same-origin" | "same-site" | "none" | "cross-site";

export interface OriginPolicySpec {
  mode: OriginMode;
  /** The document's `tenants[id].origins`. */
  tenantOrigins: Readonly<Record<string, { origins: readonly string[] }>> | undefined;
  /** The rule's `origins`, possibly with `{tenant}`. */
  templates: readonly string[];
  withoutOrigin: readonly FetchSite[];
}

export type OriginCheck =
  /** `origin` is the allowed Origin to grant CORS to; absent when the request came without one (or the mode is off). */
  { ok: true; origin?: string } | { ok: false; reason: "origin-not-allowed" | "origin-missing" };

/** RFC 9110 safe methods. OPTIONS that is not a preflight reaches the handler like a GET. */
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** A tenant id substituted into a host must be one DNS label, or the template yields nothing. */
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface OriginPolicy {
  readonly mode: OriginMode;
  /** True when `origin` (the raw header value) is one of `tenant`'s origins. */
  allows(tenant: string, origin: string): boolean;
  check(tenant: string, method: readonly string[], headers: Headers): OriginCheck;
}

export function compileOriginPolicy(spec: OriginPolicySpec): OriginPolicy {
  const perTenant = new Map<string, readonly string[]>();
  for (const [tenant, entry] of Object.entries(spec.tenantOrigins ?? {}))
    perTenant.set(tenant, entry.origins);
  const withoutOrigin = new Set<string>(spec.withoutOrigin);

  function expand(template: string, tenant: string): string | undefined {
    if (!template.includes("{tenant}")) return template;
    return DNS_LABEL.test(tenant) ? template.replace("{tenant}", tenant) : undefined;
  }

  function allows(tenant: string, origin: string): boolean {
    for (const template of perTenant.get(tenant) ?? []) if (expand(template, tenant) === origin) return true;
    for (const template of spec.templates) if (expand(template, tenant) === origin) return true;
    return false;
  }

  return {
    mode: spec.mode,
    allows,
    check(tenant, methods, headers) {
      if (spec.mode === "off") return { ok: true };
      // Repeated Origin headers arrive joined with ", ", which is in no allow-list: rejected below.
      const origin = headers.get("origin");
      if (origin !== null)
        return allows(tenant, origin) ? { ok: true, origin } : { ok: false, reason: "origin-not-allowed" };
      if (spec.mode === "required") return { ok: false, reason: "origin-missing" };
      // Browsers send Origin on every cross-origin fetch and every unsafe request; a missing one on a
      // POST is a non-browser client or a form trick, and the route asked for Origin on those.
      if (!methods.every((method) => SAFE.has(method))) return { ok: false, reason: "origin-missing" };
      const site = headers.get("sec-fetch-site");
      // No Sec-Fetch-Site: a non-browser client (server to server) or a browser too old to send it.
      if (site === null || withoutOrigin.has(site)) return { ok: true };
      // A top-level navigation (a link from a mail or another site) is let through as in the Fetch
      // Metadata resource isolation policy; embeds, images, scripts and iframes from other sites are not.
      if (headers.get("sec-fetch-mode") === "navigate" && headers.get("sec-fetch-dest") === "document")
        return { ok: true };
      return { ok: false, reason: "origin-missing" };
    },
  };
}

export interface CorsSpec {
  methods: readonly string[];
  headers: readonly string[];
  credentials: boolean;
  maxAge: number;
}

export type Preflight =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; reason: "cors-method-not-allowed" };

/** Response headers granting CORS to an allowed origin on an actual (non-preflight) request. */
export function grantHeaders(origin: string, cors: CorsSpec): Record<string, string> {
  return {
    "access-control-allow-origin": origin,
    vary: "Origin",
    ...(cors.credentials ? { "access-control-allow-credentials": "true" } : {}),
  };
}

/**
 * The answer to a preflight from an allowed origin. Requested headers are granted only when listed
 * in the rule, never echoed blindly: echoing would let any header through, and `*` is not honoured
 * with credentials anyway.
 */
export function answerPreflight(origin: string, headers: Headers, cors: CorsSpec): Preflight {
  const method = (headers.get("access-control-request-method") ?? "").trim().toUpperCase();
  if (!cors.methods.includes(method)) return { ok: false, reason: "cors-method-not-allowed" };
  const requested = (headers.get("access-control-request-headers") ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== "");
  const granted = [...new Set(requested.filter((name) => cors.headers.includes(name)))];
  return {
    ok: true,
    headers: {
      "access-control-allow-origin": origin,
      "access-control-allow-methods": cors.methods.join(", "),
      ...(granted.length > 0 ? { "access-control-allow-headers": granted.join(", ") } : {}),
      ...(cors.credentials ? { "access-control-allow-credentials": "true" } : {}),
      "access-control-max-age": String(cors.maxAge),
      vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
      "cache-control": "no-store",
    },
  };
}
