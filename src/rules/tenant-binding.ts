import * as v from "valibot";
import { DURATION, FAIL_MODE, MATCH, RULE_ID, RULE_MODE, TIMEOUT_MS } from "./common.js";
import type { CompiledRule } from "./rule.js";
import type { CompileContext } from "./ruleset.js";
import { TENANT_SOURCE } from "./tenancy.js";

/**
 * `tenant-binding`: the tenant a request addresses must equal the tenant claim of a verified JWT,
 * and its Origin must be one of that tenant's origins.
 */
export const TENANT_BINDING_RULE = v.strictObject({
  id: RULE_ID,
  kind: v.literal("tenant-binding"),
  match: MATCH,
  mode: v.optional(RULE_MODE),
  tenant: TENANT_SOURCE,
  token: v.strictObject({
    from: v.optional(v.picklist(["authorization", "cookie"])),
    cookie: v.optional(v.pipe(v.string(), v.regex(/^[\w.-]{1,64}$/))),
    claim: v.pipe(v.string(), v.regex(/^[\w-]{1,64}(\.[\w-]{1,64}){0,7}$/, "must be a claim name, nested with dots like org.id")),
    jwks: v.optional(v.pipe(v.string(), v.url("must be an https URL"))),
    secretEnv: v.optional(v.pipe(v.string(), v.regex(/^[A-Z_][A-Z0-9_]{0,127}$/, "must be an environment variable name"))),
    issuer: v.optional(v.string()),
    audience: v.optional(v.union([v.string(), v.array(v.string())])),
    algorithms: v.pipe(v.array(v.picklist(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"])), v.minLength(1, "must pin at least one algorithm")),
    maxTokenAge: v.optional(DURATION),
    typ: v.optional(v.string()),
    clockTolerance: v.optional(DURATION),
    maxBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(256), v.maxValue(65_536))),
  }),
  origin: v.optional(v.picklist(["required", "required-for-unsafe-methods", "off"])),
  origins: v.optional(v.array(v.string())),
  failMode: v.optional(FAIL_MODE),
  timeoutMs: v.optional(TIMEOUT_MS),
});
export type TenantBindingRuleSpec = v.InferOutput<typeof TENANT_BINDING_RULE>;

export function compileTenantBinding(spec: TenantBindingRuleSpec, _context: CompileContext): Omit<CompiledRule, "order" | "source"> {
  // Placeholder until tenant binding lands (issue 4).
  return {
    id: spec.id,
    kind: "tenant-binding",
    phase: "tenant-binding",
    monitor: spec.mode === "monitor",
    match: spec.match,
    evaluate: () => undefined,
  };
}
