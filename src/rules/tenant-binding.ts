import { parseDuration } from "../core/duration.js";
import { RulesInvalid } from "../core/errors.js";
import { isPreflight } from "../core/preflight.js";
import { PUBLIC_MESSAGES } from "../model/messages.js";
import type { Verdict } from "../model/verdict.js";
import { parsePattern } from "./pattern.js";
import type { CompileContext, CompiledRule, RuleContext } from "./rule.js";
import { compileTenantSource } from "./tenancy.js";
import { claimAt, claimMatches, parseClaimPath } from "./tenant-binding/claim.js";
import { type KeySource, remoteKeySet } from "./tenant-binding/jwks.js";
import {
  answerPreflight,
  type CorsSpec,
  compileOriginPolicy,
  grantHeaders,
} from "./tenant-binding/origin.js";
import type { TenantBindingRuleSpec } from "./tenant-binding/schema.js";
import { secretKeys } from "./tenant-binding/secret.js";
import { extractToken, type TokenLocation } from "./tenant-binding/token.js";
import { type VerifyOptions, verifyJwt } from "./tenant-binding/verify.js";

export { TENANT_BINDING_RULE, type TenantBindingRuleSpec } from "./tenant-binding/schema.js";

/**
 * `tenant-binding`: the tenant a request addresses must equal the tenant claim of a verified JWT,
 * and its Origin must be one of that tenant's origins. Checks run cheapest first: tenant, origin
 * (and CORS preflight), token syntax and size, then crypto, then the claim.
 *
 * @example
 * { "id": "bind", "kind": "tenant-binding", "match": { "path": "/api/:tenant/**" },
 *   "tenant": { "from": "path", "param": "tenant" },
 *   "token": { "claim": "org_id", "jwks": "https://id.example.com/jwks.json", "algorithms": ["RS256"],
 *              "issuer": "https://id.example.com/", "audience": "api" },
 *   "origins": ["https://app.example.com"] }
 */

export const DEFAULTS = {
  maxBytes: 8_192,
  timeoutMs: 1_000,
  clockToleranceS: 5,
  jwksMaxAgeMs: 600_000,
  jwksCooldownMs: 30_000,
  corsMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
  corsHeaders: ["authorization", "content-type"],
  corsMaxAge: 600,
  withoutOrigin: ["same-origin", "none"],
} as const;

function milliseconds(duration: string | undefined, fallback: number): number {
  return (duration === undefined ? undefined : parseDuration(duration)) ?? fallback;
}

/** Cross-field checks the schema cannot express, reported with the JSON path of the field to fix. */
function checkSpec(spec: TenantBindingRuleSpec, context: CompileContext): void {
  // The rule's index is looked up only on failure: documents may hold thousands of rules.
  const fault = (field: string, message: string): Error => {
    const index = context.rules.indexOf(spec);
    return new RulesInvalid([{ path: `${index === -1 ? "$" : `$.rules[${index}]`}.${field}`, message }]);
  };
  if (spec.tenant.from !== "path") return;
  if (spec.tenant.pattern !== undefined) {
    throw fault(
      "tenant.pattern",
      "is only for the document's tenancy; a rule reads the parameter from its own match.path",
    );
  }
  const { param } = spec.tenant;
  for (const pattern of typeof spec.match.path === "string" ? [spec.match.path] : spec.match.path) {
    const parsed = parsePattern(pattern);
    if (
      typeof parsed === "string" ||
      parsed.some((segment) => segment.type === "param" && segment.name === param)
    )
      continue;
    throw fault(
      "tenant.param",
      `must be captured by every pattern of match.path: ${JSON.stringify(pattern)} has no :${param}`,
    );
  }
}

export function compileTenantBinding(
  spec: TenantBindingRuleSpec,
  context: CompileContext,
): Omit<CompiledRule, "order" | "source"> {
  checkSpec(spec, context);
  const { token } = spec;
  const services = context.services;
  const failMode = spec.failMode ?? "closed";
  const timeoutMs = spec.timeoutMs ?? DEFAULTS.timeoutMs;
  const tenants = compileTenantSource(spec.tenant);
  const claimPath = parseClaimPath(token.claim);
  const from = token.from ?? "authorization";
  const location: TokenLocation = {
    from,
    cookie: token.cookie,
    maxBytes: token.maxBytes ?? DEFAULTS.maxBytes,
  };
  const policy = compileOriginPolicy({
    mode: spec.origin ?? "required-for-unsafe-methods",
    tenantOrigins: context.tenants,
    templates: spec.origins ?? [],
    withoutOrigin: spec.withoutOrigin ?? DEFAULTS.withoutOrigin,
  });
  const cors: CorsSpec = {
    methods: spec.cors?.methods ?? spec.match.methods ?? DEFAULTS.corsMethods,
    headers: spec.cors?.headers ?? DEFAULTS.corsHeaders,
    // Cookies are credentials: a cookie-borne token needs the grant, a bearer token does not.
    credentials: spec.cors?.credentials ?? from !== "authorization",
    maxAge: spec.cors?.maxAge ?? DEFAULTS.corsMaxAge,
  };
  const verifyOptions: VerifyOptions = {
    algorithms: token.algorithms,
    clockTolerance: milliseconds(token.clockTolerance, DEFAULTS.clockToleranceS * 1000) / 1000,
    timeoutMs,
    ...(token.issuer === undefined ? {} : { issuer: token.issuer }),
    ...(token.audience === undefined ? {} : { audience: token.audience }),
    ...(token.typ === undefined ? {} : { typ: token.typ }),
    ...(token.maxTokenAge === undefined ? {} : { maxTokenAge: milliseconds(token.maxTokenAge, 0) / 1000 }),
  };
  // Exactly one of the two is set (schema). The key set is shared by URL across recompiles.
  const jwks: KeySource | undefined =
    token.jwks === undefined
      ? undefined
      : remoteKeySet(
          {
            url: token.jwks,
            timeoutMs,
            maxAgeMs: milliseconds(token.jwksMaxAge, DEFAULTS.jwksMaxAgeMs),
            cooldownMs: milliseconds(token.jwksCooldown, DEFAULTS.jwksCooldownMs),
          },
          services,
        );
  const secret = token.secretEnv === undefined ? undefined : secretKeys(token.secretEnv, () => services.env);
  const challenge: Record<string, string> = from === "cookie" ? {} : { "www-authenticate": "Bearer" };

  const forbid = (reason: string, headers?: Record<string, string>): Verdict => ({
    action: "block",
    outcome: "block",
    status: 403,
    reason,
    message: PUBLIC_MESSAGES.forbidden,
    ...(headers ? { headers } : {}),
  });
  const unauthorized = (reason: string, grant: Record<string, string> | undefined): Verdict => ({
    action: "block",
    outcome: "block",
    status: 401,
    reason,
    message: PUBLIC_MESSAGES.unauthorized,
    headers: { ...challenge, ...grant },
  });

  async function evaluate(context: RuleContext): Promise<Verdict> {
    const tenant = tenants.resolve(context.request, context.params);
    // The tenant source only ever yields values in the tenant id alphabet (see tenancy.ts).
    if (tenant === undefined) return forbid("tenant-unknown");
    const verdict = await decideFor(context, tenant);
    // Evidence names the tenant a refused request addressed, not only verified ones.
    return verdict.action === "block" ? { ...verdict, tenant } : verdict;
  }

  async function decideFor(context: RuleContext, tenant: string): Promise<Verdict> {
    const { request } = context;
    const headers = request.request.headers;

    // A preflight carries no token: it is checked against the tenant of the URL only, and answered
    // here so it never reaches the handler nor a rate limit.
    if (policy.mode !== "off" && isPreflight(request.method, headers)) {
      const origin = headers.get("origin") ?? "";
      if (!policy.allows(tenant, origin)) return forbid("origin-not-allowed");
      const answer = answerPreflight(origin, headers, cors);
      if (!answer.ok) return forbid(answer.reason);
      return { action: "respond", status: 204, reason: "cors-preflight", headers: answer.headers };
    }

    const origin = policy.check(tenant, request.methods, headers);
    if (!origin.ok) return forbid(origin.reason);
    // The origin is already known good: errors below carry the grant so the app can read them.
    const grant = origin.origin === undefined ? undefined : grantHeaders(origin.origin, cors);

    const extracted = extractToken(headers, location);
    if (!extracted.ok) return unauthorized(extracted.reason, grant);

    let keys = jwks;
    if (secret) {
      const state = secret();
      if (!state.ok) return { action: "fail", failMode, reason: state.reason };
      keys = state.keys;
    }
    // Unreachable (the schema requires exactly one key source); closed, whatever the failMode.
    if (keys === undefined) return { action: "fail", failMode: "closed", reason: "secret-missing" };

    const verified = await verifyJwt(extracted.token, keys, verifyOptions, context.services.now());
    if (!verified.ok) {
      if (verified.reason === "jwks-unavailable")
        return { action: "fail", failMode, reason: verified.reason };
      if (verified.reason === "token-invalid") {
        context.services.report("token-verify-error", {
          rule: spec.id,
          message: verified.error instanceof Error ? verified.error.message : String(verified.error),
        });
      }
      return unauthorized(verified.reason, grant);
    }
    if (!claimMatches(claimAt(verified.payload, claimPath), tenant)) return forbid("tenant-mismatch", grant);

    context.identity.tenant = tenant;
    if (typeof verified.payload.sub === "string") context.identity.user = verified.payload.sub;
    return grant ? { action: "headers", headers: grant } : { action: "pass", reason: "tenant-bound" };
  }

  return {
    id: spec.id,
    kind: "tenant-binding",
    phase: "tenant-binding",
    monitor: spec.mode === "monitor",
    match: spec.match,
    evaluate,
  };
}
