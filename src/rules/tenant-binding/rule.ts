import { parseDuration } from "../../core/duration.js";
import { RulesInvalid } from "../../core/errors.js";
import { MECHANISMS } from "../../core/mechanisms.js";
import { isPreflight } from "../../core/preflight.js";
import { PUBLIC_MESSAGES } from "../../model/messages.js";
import type { Verdict } from "../../model/verdict.js";
import { defineRuleKind, type PlacedLater } from "../kind.js";
import { parsePattern, patternList } from "../pattern.js";
import type { CompileContext, RuleContext } from "../rule.js";
import { compileTenantSource, resolveTenant, type TenantResolver } from "../tenancy.js";
import { claimAt, claimMatches, parseClaimPath } from "./claim.js";
import { type KeySource, remoteKeySet } from "./jwks.js";
import {
  answerPreflight,
  type CorsSpec,
  compileOriginPolicy,
  grantHeaders,
  type OriginPolicy,
} from "./origin.js";
import { TENANT_BINDING_RULE, type TenantBindingRuleSpec } from "./schema.js";
import { type SecretState, secretKeys } from "./secret.js";
import { extractToken, type TokenLocation } from "./token.js";
import { type Verified, type VerifyOptions, verifyJwt } from "./verify.js";

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
  for (const pattern of patternList(spec.match.path)) {
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

/** Everything a request needs, built once per compile: sources, policies, keys and canned verdicts. */
interface BindingPlan {
  readonly id: string;
  readonly failMode: "open" | "closed";
  readonly tenants: TenantResolver;
  readonly claimPath: ReturnType<typeof parseClaimPath>;
  readonly location: TokenLocation;
  readonly policy: OriginPolicy;
  readonly cors: CorsSpec;
  readonly verifyOptions: VerifyOptions;
  /** The JWKS key set, or a reader of the `secretEnv` secret: exactly one is set (schema). */
  readonly jwks: KeySource | undefined;
  readonly secret: (() => SecretState) | undefined;
  readonly challenge: Readonly<Record<string, string>>;
}

function verifyOptionsOf(spec: TenantBindingRuleSpec, timeoutMs: number): VerifyOptions {
  const { token } = spec;
  return {
    algorithms: token.algorithms,
    clockTolerance: milliseconds(token.clockTolerance, DEFAULTS.clockToleranceS * 1000) / 1000,
    timeoutMs,
    ...(token.issuer === undefined ? {} : { issuer: token.issuer }),
    ...(token.audience === undefined ? {} : { audience: token.audience }),
    ...(token.typ === undefined ? {} : { typ: token.typ }),
    ...(token.maxTokenAge === undefined ? {} : { maxTokenAge: milliseconds(token.maxTokenAge, 0) / 1000 }),
  };
}

function corsOf(spec: TenantBindingRuleSpec, from: TokenLocation["from"]): CorsSpec {
  return {
    methods: spec.cors?.methods ?? spec.match.methods ?? DEFAULTS.corsMethods,
    headers: spec.cors?.headers ?? DEFAULTS.corsHeaders,
    // Cookies are credentials: a cookie-borne token needs the grant, a bearer token does not.
    credentials: spec.cors?.credentials ?? from !== "authorization",
    maxAge: spec.cors?.maxAge ?? DEFAULTS.corsMaxAge,
  };
}

function planOf(spec: TenantBindingRuleSpec, context: CompileContext): BindingPlan {
  const { token } = spec;
  const services = context.services;
  const timeoutMs = spec.timeoutMs ?? DEFAULTS.timeoutMs;
  const from = token.from ?? "authorization";
  // The key set is shared by URL across recompiles (remoteKeySet keeps one per URL).
  const jwks =
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
  return {
    id: spec.id,
    failMode: spec.failMode ?? "closed",
    tenants: compileTenantSource(spec.tenant),
    claimPath: parseClaimPath(token.claim),
    location: { from, cookie: token.cookie, maxBytes: token.maxBytes ?? DEFAULTS.maxBytes },
    policy: compileOriginPolicy({
      mode: spec.origin ?? "required-for-unsafe-methods",
      tenantOrigins: context.tenants,
      templates: spec.origins ?? [],
      withoutOrigin: spec.withoutOrigin ?? DEFAULTS.withoutOrigin,
    }),
    cors: corsOf(spec, from),
    verifyOptions: verifyOptionsOf(spec, timeoutMs),
    jwks,
    secret: token.secretEnv === undefined ? undefined : secretKeys(token.secretEnv, () => services.env),
    challenge: from === "cookie" ? {} : { "www-authenticate": "Bearer" },
  };
}

function forbid(reason: string, headers?: Record<string, string>): Verdict {
  return {
    action: "block",
    outcome: "block",
    status: 403,
    reason,
    message: PUBLIC_MESSAGES.forbidden,
    ...(headers ? { headers } : {}),
  };
}

function unauthorized(plan: BindingPlan, reason: string, grant: Record<string, string> | undefined): Verdict {
  return {
    action: "block",
    outcome: "block",
    status: 401,
    reason,
    message: PUBLIC_MESSAGES.unauthorized,
    headers: { ...plan.challenge, ...grant },
  };
}

/**
 * The tenant the request addresses, from every reading of its path that matched:
 * readings that disagree are refused as ambiguous, never bound on the first one.
 */
async function evaluateBinding(plan: BindingPlan, context: RuleContext): Promise<Verdict> {
  const readings = MECHANISMS.tenantAllReadings ? context.readings : [context.params];
  const resolved = resolveTenant(context.request, readings, plan.tenants);
  if (!resolved.ok)
    return forbid(resolved.reason === "tenant-ambiguous" ? resolved.reason : "tenant-unknown");
  const verdict = await decideFor(plan, context, resolved.tenant);
  // Evidence names the tenant a refused request addressed (validated above), not only verified ones.
  return verdict.action === "block" ? { ...verdict, tenant: resolved.tenant } : verdict;
}

/** A preflight carries no token: checked against the URL's tenant only, answered here (never the handler). */
function preflight(plan: BindingPlan, headers: Headers, tenant: string): Verdict {
  const origin = headers.get("origin") ?? "";
  if (!plan.policy.allows(tenant, origin)) return forbid("origin-not-allowed");
  const answer = answerPreflight(origin, headers, plan.cors);
  if (!answer.ok) return forbid(answer.reason);
  return { action: "respond", status: 204, reason: "cors-preflight", headers: answer.headers };
}

async function decideFor(plan: BindingPlan, context: RuleContext, tenant: string): Promise<Verdict> {
  const { request } = context;
  const headers = request.request.headers;
  if (plan.policy.mode !== "off" && isPreflight(request.method, headers))
    return preflight(plan, headers, tenant);

  const origin = plan.policy.check(tenant, request.methods, headers);
  if (!origin.ok) return forbid(origin.reason);
  // The origin is already known good: errors below carry the grant so the app can read them.
  const grant = origin.origin === undefined ? undefined : grantHeaders(origin.origin, plan.cors);

  const extracted = extractToken(headers, plan.location);
  if (!extracted.ok) return unauthorized(plan, extracted.reason, grant);

  let keys = plan.jwks;
  if (plan.secret) {
    const state = plan.secret();
    if (!state.ok) return { action: "fail", failMode: plan.failMode, reason: state.reason };
    keys = state.keys;
  }
  // Unreachable (the schema requires exactly one key source); closed, whatever the failMode.
  if (keys === undefined) return { action: "fail", failMode: "closed", reason: "secret-missing" };

  const verified = await verifyJwt(extracted.token, keys, plan.verifyOptions, context.services.now());
  if (!verified.ok) return rejected(plan, context, verified, grant);
  if (!claimMatches(claimAt(verified.payload, plan.claimPath), tenant))
    return forbid("tenant-mismatch", grant);

  context.identity.tenant = tenant;
  if (typeof verified.payload.sub === "string") context.identity.user = verified.payload.sub;
  return grant ? { action: "headers", headers: grant } : { action: "pass", reason: "tenant-bound" };
}

/** A token that did not verify: 401, except an unreachable key set, which the rule's failMode decides. */
function rejected(
  plan: BindingPlan,
  context: RuleContext,
  verified: Extract<Verified, { ok: false }>,
  grant: Record<string, string> | undefined,
): Verdict {
  if (verified.reason === "jwks-unavailable")
    return { action: "fail", failMode: plan.failMode, reason: verified.reason };
  if (verified.reason === "token-invalid") {
    context.services.report("token-verify-error", {
      rule: plan.id,
      message: verified.error instanceof Error ? verified.error.message : String(verified.error),
    });
  }
  return unauthorized(plan, verified.reason, grant);
}

function compileTenantBinding(spec: TenantBindingRuleSpec, context: CompileContext): PlacedLater {
  checkSpec(spec, context);
  const plan = planOf(spec, context);
  return {
    id: spec.id,
    kind: "tenant-binding",
    monitor: spec.mode === "monitor",
    match: spec.match,
    evaluate: (ruleContext) => evaluateBinding(plan, ruleContext),
  };
}

export const TENANT_BINDING = defineRuleKind({
  kind: "tenant-binding",
  schema: TENANT_BINDING_RULE,
  compile: compileTenantBinding,
});
