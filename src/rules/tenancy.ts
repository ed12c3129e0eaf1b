import * as v from "valibot";
import type { NormalizedRequest } from "../core/request.js";
import { HEADER_NAME, PATH_PATTERN, TENANT_ID } from "./common.js";
import { matchPattern, type PatternSegment, parsePattern } from "./pattern.js";

/**
 * Where the tenant of a request comes from: a path parameter, the subdomain under a base domain, a
 * header, or a per-host table. Used by `tenant-binding` rules and, at the document level
 * (`tenancy`), to scope kill switches and rate limits by tenant.
 */
export const TENANT_SOURCE = v.variant("from", [
  v.strictObject({
    from: v.literal("path"),
    param: v.pipe(v.string(), v.regex(/^[A-Za-z_]\w{0,31}$/, "must be a parameter name used in the pattern")),
    /** At the document level, the pattern that captures `param`; rules use their own match pattern. */
    pattern: v.optional(PATH_PATTERN),
  }),
  v.strictObject({
    from: v.literal("subdomain"),
    baseDomain: v.pipe(
      v.string(),
      v.regex(/^[a-z0-9.-]+\.[a-z]{2,}$/, "must be a lower-case domain like example.com"),
    ),
  }),
  v.strictObject({
    from: v.literal("header"),
    name: HEADER_NAME,
  }),
  v.strictObject({
    from: v.literal("host"),
    hosts: v.record(
      v.pipe(v.string(), v.regex(/^[a-z0-9.-]{1,253}$/, "must be a lower-case host name")),
      TENANT_ID,
    ),
  }),
]);
export type TenantSourceSpec = v.InferOutput<typeof TENANT_SOURCE>;

const TENANT_VALUE = /^[\w.-]{1,128}$/;

type Params = Readonly<Record<string, string>>;

/**
 * A tenant source compiled once. `read` lists the raw tenant texts one path reading names (none,
 * one, or one per path candidate for a document-level pattern), unvalidated: only `resolveTenant`
 * turns them into a tenant, so there is exactly one place where a tenant is validated.
 */
export interface TenantResolver {
  read(request: NormalizedRequest, params: Params): readonly string[];
}

/** Why a request has no tenant: none named, a value outside the tenant alphabet, or readings that disagree. */
export type TenantResolution =
  | { ok: true; tenant: string }
  | { ok: false; reason: "tenant-unknown" | "tenant-invalid" | "tenant-ambiguous" };

function fromPath(param: string, pattern: readonly PatternSegment[] | undefined): TenantResolver {
  return {
    read(request, params) {
      const own = params[param];
      if (own !== undefined) return [own];
      if (!pattern) return [];
      const found: string[] = [];
      for (const candidate of request.paths) {
        // A path position read from a guessed locale reading could name a second tenant: exact only.
        if (candidate.localeGuess) continue;
        const value = matchPattern(pattern, candidate.segments, candidate.lower)?.[param];
        if (value !== undefined) found.push(value);
      }
      return found;
    },
  };
}

/** The `:tenant` parameter a rule's own pattern captures: what a rule without another source reads. */
export const PATH_TENANT: TenantResolver = fromPath("tenant", undefined);

/**
 * THE tenant of a request: every reading of the path that matched (`readings`, one parameter set
 * per path candidate and pattern) must name the same tenant, in the tenant id alphabet. A path that
 * could route to two tenants (`/api/acme/..%2fglobex/x` reads as `acme` and as `globex`) has none
 * (`tenant-ambiguous`), and a value like `jane@example.com` is never a tenant (`tenant-invalid`),
 * so nothing unvalidated is ever bound, scoped on, rate limited by or recorded.
 */
export function resolveTenant(
  request: NormalizedRequest,
  readings: readonly Params[],
  source: TenantResolver,
): TenantResolution {
  let found: string | undefined;
  const checked = readings.length === 0 ? [{}] : readings;
  for (const params of checked) {
    for (const value of source.read(request, params)) {
      if (!TENANT_VALUE.test(value)) return { ok: false, reason: "tenant-invalid" };
      if (found === undefined) found = value;
      else if (found !== value) return { ok: false, reason: "tenant-ambiguous" };
    }
  }
  return found === undefined ? { ok: false, reason: "tenant-unknown" } : { ok: true, tenant: found };
}

/**
 * The tenant a matched rule's request addresses, for scoping and evidence: the rule's own `:tenant`
 * parameter when its pattern captures one, else the document's `tenancy`.
 */
export function addressedTenant(
  request: NormalizedRequest,
  readings: readonly Params[],
  tenancy: TenantResolver | undefined,
): string | undefined {
  const source = readings[0]?.tenant !== undefined ? PATH_TENANT : tenancy;
  if (source === undefined) return undefined;
  const resolved = resolveTenant(request, readings, source);
  return resolved.ok ? resolved.tenant : undefined;
}

/**
 * Compiles a tenant source. A header with several values, a host with more than one label under
 * the base domain, or a value outside the tenant id alphabet never becomes a tenant (resolveTenant).
 */
export function compileTenantSource(spec: TenantSourceSpec): TenantResolver {
  switch (spec.from) {
    case "path": {
      const parsed = spec.pattern === undefined ? undefined : parsePattern(spec.pattern);
      return fromPath(spec.param, typeof parsed === "string" ? undefined : parsed);
    }
    case "subdomain": {
      const suffix = `.${spec.baseDomain}`;
      return {
        read(request) {
          if (!request.host.endsWith(suffix)) return [];
          const label = request.host.slice(0, -suffix.length);
          return label.length > 0 && !label.includes(".") ? [label] : [];
        },
      };
    }
    case "header":
      return {
        read(request) {
          const value = request.request.headers.get(spec.name);
          return value === null ? [] : [value];
        },
      };
    case "host": {
      const table = new Map(Object.entries(spec.hosts));
      return {
        read(request) {
          const tenant = table.get(request.host);
          return tenant === undefined ? [] : [tenant];
        },
      };
    }
  }
}
