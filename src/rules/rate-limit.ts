import * as v from "valibot";
import { withDeadline } from "../core/deadline.js";
import { parseDuration, seconds } from "../core/duration.js";
import { RulesInvalid } from "../core/errors.js";
import type { ByKey, IdentityFacts, Keyring } from "../core/identity.js";
import { isPreflight } from "../core/preflight.js";
import type { Algorithm, LimitResult, RateLimitStore } from "../model/store.js";
import type { Verdict } from "../model/verdict.js";
import { DATA_CLASSES, DURATION, FAIL_MODE, MATCH, RULE_ID, RULE_MODE, TIMEOUT_MS } from "./common.js";
import type { CompileContext, CompiledRule, RuleContext, SiblingSpec } from "./rule.js";
import { addressedTenant } from "./tenancy.js";

/**
 * `rate-limit`: cap how fast one identity can pull from an endpoint (exports, bulk reads).
 * Counters live in Redis through @upstash/ratelimit, keyed by the route template so every spelling of
 * one endpoint shares a counter.
 */
export const RATE_LIMIT_RULE = v.strictObject({
  id: RULE_ID,
  kind: v.literal("rate-limit"),
  match: MATCH,
  mode: v.optional(RULE_MODE),
  dataClasses: v.optional(DATA_CLASSES),
  limit: v.pipe(v.number(), v.integer("must be a whole number"), v.minValue(1), v.maxValue(1_000_000)),
  window: DURATION,
  algorithm: v.optional(
    v.picklist(
      ["fixed-window", "sliding-window", "token-bucket"],
      'must be "fixed-window", "sliding-window" or "token-bucket"',
    ),
  ),
  /** Token bucket only: tokens added per window (default `limit`). */
  refill: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000))),
  by: v.optional(
    v.pipe(
      v.array(v.picklist(["tenant", "user", "ip", "route"], 'must be "tenant", "user", "ip" or "route"')),
      v.minLength(1, "must name at least one identity key"),
    ),
  ),
  failMode: v.optional(FAIL_MODE),
  timeoutMs: v.optional(TIMEOUT_MS),
  quarantine: v.optional(
    v.strictObject({
      after: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)),
      for: DURATION,
      scope: v.optional(v.picklist(["rule", "all"], 'must be "rule" or "all"')),
    }),
  ),
});
export type RateLimitRuleSpec = v.InferOutput<typeof RATE_LIMIT_RULE>;

export const DEFAULT_ALGORITHM: Algorithm = "sliding-window";
/** Without `by`, a rule counts per user: the verified subject, or the client network when there is none. */
export const DEFAULT_BY: readonly ByKey[] = ["user"];
export const DEFAULT_TIMEOUT_MS = 250;
const ALGORITHM_CODE: Record<Algorithm, string> = {
  "fixed-window": "fw",
  "sliding-window": "sw",
  "token-bucket": "tb",
};
const LIMITED_MESSAGE = "Too many requests.";
const REPORT_EVERY_MS = 10_000;

/** Relative Redis keys (the store adds the prefix, default `containment:`). */
export const rateLimitKeys = {
  /** `rl:<rule>:<algo>:<identity>:<route>`; @upstash/ratelimit appends `:<window number>`. */
  counter: (rule: string, algorithm: Algorithm, identity: string, route: string): string =>
    `${rule}:${ALGORITHM_CODE[algorithm]}:${identity}:${route}`,
  trips: (rule: string, dimension: string, id: string): string => `trips:${rule}:${dimension}:${id}`,
  /** Scope `all`: `quarantine:<dimension>:<id>`; scope `rule`: `quarantine:<dimension>:<id>:<rule>`. */
  quarantine: (dimension: string, id: string, rule?: string): string =>
    `quarantine:${dimension}:${id}${rule === undefined ? "" : `:${rule}`}`,
};

/** The `by` lists of the document's `scope: "all"` quarantines: every rate-limit rule checks them. */
const globalScopes = new WeakMap<readonly SiblingSpec[], readonly (readonly ByKey[])[]>();
function globalQuarantineScopes(siblings: readonly SiblingSpec[]): readonly (readonly ByKey[])[] {
  let scopes = globalScopes.get(siblings);
  if (!scopes) {
    const seen = new Map<string, readonly ByKey[]>();
    for (const sibling of siblings) {
      if (sibling.kind !== "rate-limit") continue;
      const rule = sibling as RateLimitRuleSpec;
      if (rule.quarantine?.scope !== "all") continue;
      const by = rule.by ?? DEFAULT_BY;
      seen.set([...new Set(by)].sort().join("+"), by);
    }
    scopes = [...seen.values()];
    globalScopes.set(siblings, scopes);
  }
  return scopes;
}

/** IETF draft RateLimit fields (draft-ietf-httpapi-ratelimit-headers-07 style: one field per value). */
export function rateLimitHeaders(result: LimitResult, windowMs: number, now: number): Record<string, string> {
  return {
    "ratelimit-limit": String(result.limit),
    "ratelimit-remaining": String(Math.max(0, result.remaining)),
    "ratelimit-reset": String(seconds(result.reset - now)),
    "ratelimit-policy": `${result.limit};w=${seconds(windowMs)}`,
  };
}

/** The verified tenant, else the one resolveTenant validates from the path (never a raw segment). */
function tenantOf(context: RuleContext): string | undefined {
  return (
    context.identity.tenant ?? addressedTenant(context.request, context.readings, context.ruleset.tenancy)
  );
}

export function compileRateLimit(
  spec: RateLimitRuleSpec,
  context: CompileContext,
): Omit<CompiledRule, "order" | "source"> {
  const { services } = context;
  const index = context.rules.indexOf(spec);
  const at = (field: string): string => `$.rules[${index}]${field}`;
  const windowMs = parseDuration(spec.window) as number;
  const algorithm = spec.algorithm ?? DEFAULT_ALGORITHM;
  const by: readonly ByKey[] = spec.by ?? DEFAULT_BY;
  const failMode = spec.failMode ?? "closed";
  const timeoutMs = spec.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const quarantine = spec.quarantine && {
    after: spec.quarantine.after,
    forMs: parseDuration(spec.quarantine.for) as number,
    scope: spec.quarantine.scope ?? "rule",
  };
  if (quarantine && !by.some((key) => key !== "route")) {
    throw new RulesInvalid([
      {
        path: at(".quarantine"),
        message: 'needs an identity in "by" (tenant, user or ip): a route alone would quarantine everyone',
      },
    ]);
  }
  const globalScopesToCheck = globalQuarantineScopes(context.rules);
  const store: RateLimitStore | undefined = services.store;
  const keyring: Keyring | undefined = services.keyring;
  const limiter = store?.limiter({
    name: spec.id,
    algorithm,
    limit: spec.limit,
    windowMs,
    refill: spec.refill ?? spec.limit,
  });
  if (!limiter)
    services.report("store-missing", {
      rule: spec.id,
      message: `rate-limit rule ${spec.id} has no store (configure redis); it fails ${failMode}`,
    });

  const unavailable: Verdict = { action: "fail", failMode, reason: "store-unavailable", status: 503 };
  let reportedAt = Number.NEGATIVE_INFINITY;
  function reportFailure(error: unknown): void {
    // An outage fails every request: report it once per interval per rule, not once per request.
    const now = services.now();
    if (now - reportedAt < REPORT_EVERY_MS) return;
    reportedAt = now;
    services.report("store-error", {
      rule: spec.id,
      message: (error instanceof Error ? error.message : String(error)).slice(0, 200),
    });
  }

  function quarantined(ttlMs: number, reason: string): Verdict {
    return {
      action: "block",
      outcome: "block",
      status: 429,
      reason,
      message: LIMITED_MESSAGE,
      retryAfter: Math.max(1, seconds(ttlMs)),
    };
  }

  async function evaluate(ctx: RuleContext): Promise<Verdict | undefined> {
    // A CORS preflight carries no data and must never spend quota (see core/preflight.ts).
    if (isPreflight(ctx.request.method, ctx.request.request.headers)) return undefined;
    if (!limiter || !store || !keyring) return unavailable;
    const startedAt = services.now();
    const facts: IdentityFacts = { tenant: tenantOf(ctx), user: ctx.identity.user, ip: ctx.request.ip };
    const own = await keyring.key(by, facts);
    const counterKey = rateLimitKeys.counter(spec.id, algorithm, own.counter, ctx.route);
    const quarantineKeys = new Set<string>();
    if (quarantine?.scope === "rule")
      quarantineKeys.add(rateLimitKeys.quarantine(own.dimension, own.id, spec.id));
    for (const scopeBy of globalScopesToCheck) {
      const key = await keyring.key(scopeBy, facts);
      quarantineKeys.add(rateLimitKeys.quarantine(key.dimension, key.id));
    }

    let checked: Awaited<ReturnType<typeof limiter.check>>;
    try {
      // Our deadline, not @upstash/ratelimit's `timeout` (which answers "success" when it expires).
      checked = await withDeadline(
        limiter.check(counterKey, [...quarantineKeys]),
        timeoutMs,
        `rate limit ${spec.id}`,
      );
    } catch (error) {
      reportFailure(error);
      return unavailable;
    }
    if (checked.pending) ctx.waitUntil(checked.pending.catch(() => {}));
    if (checked.quarantine) return quarantined(checked.quarantine.ttlMs, "quarantined");
    const result = checked.limit;
    if (!result) return unavailable;

    const now = services.now();
    const headers = rateLimitHeaders(result, windowMs, now);
    if (result.success) return { action: "headers", headers };

    const limited: Verdict = {
      action: "block",
      outcome: "rate-limited",
      status: 429,
      reason: "limit-exceeded",
      message: LIMITED_MESSAGE,
      retryAfter: Math.max(1, seconds(result.reset - now)),
      headers,
    };
    // Monitor mode counts but never quarantines: a quarantine would block on other rules' routes.
    if (!quarantine || spec.mode === "monitor" || ctx.ruleset.mode === "monitor") return limited;

    const record = JSON.stringify({
      rule: spec.id,
      scope: quarantine.scope,
      dimension: own.dimension,
      at: now,
      until: now + quarantine.forMs,
      ...(facts.tenant === undefined ? {} : { tenant: facts.tenant.toLowerCase() }),
    });
    const trip = store.trip({
      tripKey: rateLimitKeys.trips(spec.id, own.dimension, own.id),
      quarantineKey: rateLimitKeys.quarantine(
        own.dimension,
        own.id,
        quarantine.scope === "rule" ? spec.id : undefined,
      ),
      after: quarantine.after,
      windowMs,
      forMs: quarantine.forMs,
      record,
    });
    // Within what is left of the deadline; past it the trip still lands, after the response.
    ctx.waitUntil(trip.catch(() => {}));
    const left = timeoutMs - (services.now() - startedAt);
    if (left <= 0) return limited;
    try {
      const tripped = await withDeadline(trip, left, `quarantine ${spec.id}`);
      if (tripped.quarantined)
        return {
          ...limited,
          reason: "quarantine-started",
          retryAfter: Math.max(1, seconds(quarantine.forMs)),
        };
    } catch (error) {
      reportFailure(error);
    }
    return limited;
  }

  return {
    id: spec.id,
    kind: "rate-limit",
    phase: "rate-limit",
    monitor: spec.mode === "monitor",
    match: spec.match,
    evaluate,
  };
}
