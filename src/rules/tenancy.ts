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

/** A tenant source compiled once: `resolve` is called per request. */
export interface TenantResolver {
  resolve(request: NormalizedRequest, params: Readonly<Record<string, string>>): string | undefined;
}

function fromPath(param: string, pattern: readonly PatternSegment[] | undefined): TenantResolver {
  return {
    resolve(request, params) {
      const own = params[param];
      if (own !== undefined) return TENANT_VALUE.test(own) ? own : undefined;
      if (!pattern) return undefined;
      for (const candidate of request.paths) {
        const found = matchPattern(pattern, candidate.segments, candidate.lower)?.[param];
        if (found !== undefined) return TENANT_VALUE.test(found) ? found : undefined;
      }
      return undefined;
    },
  };
}

/**
 * Compiles a tenant source. An undeterminable tenant is `undefined`: a header with several values, a
 * host with more than one label under the base domain, or a value outside the tenant id alphabet
 * never becomes a tenant.
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
        resolve(request) {
          if (!request.host.endsWith(suffix)) return undefined;
          const label = request.host.slice(0, -suffix.length);
          return label.length > 0 && !label.includes(".") && TENANT_VALUE.test(label) ? label : undefined;
        },
      };
    }
    case "header":
      return {
        resolve(request) {
          const value = request.request.headers.get(spec.name);
          return value !== null && TENANT_VALUE.test(value) ? value : undefined;
        },
      };
    case "host": {
      const table = new Map(Object.entries(spec.hosts));
      return { resolve: (request) => table.get(request.host) };
    }
  }
}
