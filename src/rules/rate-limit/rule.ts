/**
 * `rate-limit` compiled: per request, the identity's counter and quarantine keys, one store check
 * under the rule's deadline, and the verdict (headers, 429, quarantine). The schema is
 * rate-limit-schema.ts, refunds of unused checks rate-limit-refund.ts.
 */

import { withDeadline } from "../../core/deadline.js";
import { parseDuration, seconds } from "../../core/duration.js";
import { errorText, RulesInvalid } from "../../core/errors.js";
import type { ByKey, IdentityFacts, Keyring } from "../../core/identity.js";
import { isPreflight } from "../../core/preflight.js";
import { randomId } from "../../core/random-id.js";
import type {
  Algorithm,
  CheckResult,
  CheckTicket,
  Limiter,
  LimitResult,
  RateLimitStore,
} from "../../model/rate-limit-store.js";
import type { Verdict } from "../../model/verdict.js";
import { defineRuleKind, type PlacedLater } from "../kind.js";
import type { CompileContext, RuleContext, SiblingSpec } from "../rule.js";
import { addressedTenant } from "../tenancy.js";
import { rateLimitKeys } from "./keys.js";
import { refundUnused } from "./refund.js";
import { RATE_LIMIT_RULE, type RateLimitRuleSpec } from "./schema.js";

export const DEFAULT_ALGORITHM: Algorithm = "sliding-window";
/** Without `by`, a rule counts per user: the verified subject, or the client network when there is none. */
export const DEFAULT_BY: readonly ByKey[] = ["user"];
export const DEFAULT_TIMEOUT_MS = 250;
const LIMITED_MESSAGE = "Too many requests.";
const REPORT_EVERY_MS = 10_000;

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

interface Settings {
  readonly spec: RateLimitRuleSpec;
  readonly windowMs: number;
  readonly by: readonly ByKey[];
  readonly failMode: "open" | "closed";
  readonly timeoutMs: number;
  readonly quarantine: { after: number; forMs: number; scope: "rule" | "all" } | undefined;
  readonly globalScopes: readonly (readonly ByKey[])[];
}

/** Validates what the schema cannot and precomputes everything a request needs. */
function settingsOf(spec: RateLimitRuleSpec, context: CompileContext): Settings {
  const by: readonly ByKey[] = spec.by ?? DEFAULT_BY;
  const quarantine = spec.quarantine && {
    after: spec.quarantine.after,
    forMs: parseDuration(spec.quarantine.for) as number,
    scope: spec.quarantine.scope ?? "rule",
  };
  if (quarantine && !by.some((key) => key !== "route")) {
    throw new RulesInvalid([
      {
        path: `$.rules[${context.rules.indexOf(spec)}].quarantine`,
        message: 'needs an identity in "by" (tenant, user or ip): a route alone would quarantine everyone',
      },
    ]);
  }
  return {
    spec,
    windowMs: parseDuration(spec.window) as number,
    by,
    failMode: spec.failMode ?? "closed",
    timeoutMs: spec.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    quarantine,
    globalScopes: globalQuarantineScopes(context.rules),
  };
}

/** An outage fails every request: report it once per interval per rule, not once per request. */
function failureReporter(rule: string, services: CompileContext["services"]): (error: unknown) => void {
  let reportedAt = Number.NEGATIVE_INFINITY;
  return (error) => {
    const now = services.now();
    if (now - reportedAt < REPORT_EVERY_MS) return;
    reportedAt = now;
    services.report("store-error", {
      rule,
      message: errorText(error).slice(0, 200),
    });
  };
}

/** The counter key and the quarantine keys a request is checked against. */
async function keysOf(
  settings: Settings,
  keyring: Keyring,
  ctx: RuleContext,
): Promise<{
  counter: string;
  quarantines: string[];
  own: Awaited<ReturnType<Keyring["key"]>>;
  facts: IdentityFacts;
}> {
  const { spec, by, quarantine } = settings;
  const facts: IdentityFacts = { tenant: tenantOf(ctx), user: ctx.identity.user, ip: ctx.request.ip };
  const own = await keyring.key(by, facts);
  const quarantines = new Set<string>();
  if (quarantine?.scope === "rule") quarantines.add(rateLimitKeys.quarantine(own.dimension, own.id, spec.id));
  for (const scopeBy of settings.globalScopes) {
    const key = await keyring.key(scopeBy, facts);
    quarantines.add(rateLimitKeys.quarantine(key.dimension, key.id));
  }
  const counter = rateLimitKeys.counter(spec.id, spec.algorithm ?? DEFAULT_ALGORITHM, own.counter, ctx.route);
  return { counter, quarantines: [...quarantines], own, facts };
}

function quarantinedVerdict(ttlMs: number, reason: string): Verdict {
  return {
    action: "block",
    outcome: "block",
    status: 429,
    reason,
    message: LIMITED_MESSAGE,
    retryAfter: Math.max(1, seconds(ttlMs)),
  };
}

type BlockVerdict = Extract<Verdict, { action: "block" }>;

function limitedVerdict(result: LimitResult, headers: Record<string, string>, now: number): BlockVerdict {
  return {
    action: "block",
    outcome: "rate-limited",
    status: 429,
    reason: "limit-exceeded",
    message: LIMITED_MESSAGE,
    retryAfter: Math.max(1, seconds(result.reset - now)),
    headers,
  };
}

/** Counts a trip and answers `quarantine-started` when it starts one, within what is left of the deadline. */
async function tripWithin(
  settings: Settings,
  store: RateLimitStore,
  keys: Awaited<ReturnType<typeof keysOf>>,
  ctx: RuleContext,
  left: number,
  limited: BlockVerdict,
): Promise<Verdict | Error> {
  const { spec, windowMs } = settings;
  const quarantine = settings.quarantine as NonNullable<Settings["quarantine"]>;
  const now = ctx.services.now();
  const { own, facts } = keys;
  const record = JSON.stringify({
    rule: spec.id,
    scope: quarantine.scope,
    dimension: own.dimension,
    at: now,
    until: now + quarantine.forMs,
    // Named only when declared or verified (rules/recorded-tenant.ts); undefined is left out.
    tenant: ctx.ruleset.recordTenant(facts.tenant, ctx.identity.tenant !== undefined)?.toLowerCase(),
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
  // Past the deadline the trip still lands, after the response.
  ctx.waitUntil(trip.catch(() => {}));
  if (left <= 0) return limited;
  try {
    const tripped = await withDeadline(trip, left, `quarantine ${spec.id}`);
    if (!tripped.quarantined) return limited;
    return { ...limited, reason: "quarantine-started", retryAfter: Math.max(1, seconds(quarantine.forMs)) };
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function compileRateLimit(spec: RateLimitRuleSpec, context: CompileContext): PlacedLater {
  const { services } = context;
  const settings = settingsOf(spec, context);
  const { failMode, timeoutMs, windowMs } = settings;
  const store: RateLimitStore | undefined = services.store;
  const keyring: Keyring | undefined = services.keyring;
  const limiter = store?.limiter({
    name: spec.id,
    algorithm: spec.algorithm ?? DEFAULT_ALGORITHM,
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
  const reportFailure = failureReporter(spec.id, services);

  /** The check under its deadline; past it, the fail mode answers and the check is taken back. */
  async function check(ctx: RuleContext, active: Limiter, keys: Awaited<ReturnType<typeof keysOf>>) {
    const ticket: CheckTicket = { id: randomId(), at: services.now() };
    const pending = active.check(keys.counter, keys.quarantines, ticket);
    try {
      return await withDeadline(pending, timeoutMs, `rate limit ${spec.id}`);
    } catch (error) {
      reportFailure(error);
      ctx.waitUntil(refundUnused(active, keys.counter, ticket, pending).catch(reportFailure));
      return undefined;
    }
  }

  async function evaluate(ctx: RuleContext): Promise<Verdict | undefined> {
    // A CORS preflight carries no data and must never spend quota (see core/preflight.ts).
    if (isPreflight(ctx.request.method, ctx.request.request.headers)) return undefined;
    if (!limiter || !store || !keyring) return unavailable;
    const startedAt = services.now();
    const keys = await keysOf(settings, keyring, ctx);
    const checked: CheckResult | undefined = await check(ctx, limiter, keys);
    if (!checked) return unavailable;
    if (checked.quarantine) return quarantinedVerdict(checked.quarantine.ttlMs, "quarantined");
    const result = checked.limit;
    if (!result) return unavailable;
    const now = services.now();
    const headers = rateLimitHeaders(result, windowMs, now);
    if (result.success) return { action: "headers", headers };
    const limited = limitedVerdict(result, headers, now);
    // Monitor mode counts but never quarantines: a quarantine would block on other rules' routes.
    if (!settings.quarantine || spec.mode === "monitor" || ctx.ruleset.mode === "monitor") return limited;
    const tripped = await tripWithin(
      settings,
      store,
      keys,
      ctx,
      timeoutMs - (services.now() - startedAt),
      limited,
    );
    if (tripped instanceof Error) {
      reportFailure(tripped);
      return limited;
    }
    return tripped;
  }

  return {
    id: spec.id,
    kind: "rate-limit",
    monitor: spec.mode === "monitor",
    match: spec.match,
    evaluate,
  };
}

export const RATE_LIMIT = defineRuleKind({
  kind: "rate-limit",
  schema: RATE_LIMIT_RULE,
  compile: compileRateLimit,
});
