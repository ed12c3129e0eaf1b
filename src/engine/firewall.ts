import { errorText } from "../core/errors.js";
import { type NormalizedRequest, type NormalizeOptions, normalizeRequest } from "../core/request.js";
import { type CompiledRewrite, compileRewrites, withRewriteTargets } from "../core/rewrites.js";
import type { Decision } from "../model/decision.js";
import type { StoreStatus } from "../model/rate-limit-store.js";
import type { Services } from "../model/services.js";
import type { DecisionSink } from "../model/sink.js";
import type { CompiledRuleset } from "../rules/ruleset.js";
import type { SourceStatus } from "../sources/provider.js";
import { enforcementOf } from "../stores/mirror/isolate-report.js";
import type { MirrorStats } from "../stores/mirror/options.js";
import { createStorage } from "../stores/setup.js";
import type { StorageMirror } from "../stores/storage.js";
import { type Evaluation, evaluate } from "./evaluate.js";
import type { ContainmentOptions } from "./options.js";
import { guardEvaluation } from "./request-guard.js";
import { rulesSource } from "./rules-source.js";

/** The platform context: Vercel Routing Middleware's `context`, Next.js's `event`, a Worker's `ctx`. */
export interface WaitUntilContext {
  waitUntil(promise: Promise<unknown>): void;
}

/** `status()`: the rules source, plus where rate limits count and how mirroring fares. */
export interface ContainmentStatus extends SourceStatus {
  /** Absent when no store is configured (rate-limit rules then fail by their fail mode). */
  store?: StoreStatus;
  mirror?: MirrorStats & { kind: "redis" | "memory" };
}

/** Per-request facts an adapter knows better than the options (Next's `nextUrl`). */
export interface DecideHints {
  /** Replaces `options.normalize` for this request (the adapter merges them). */
  normalize?: NormalizeOptions;
  /** `false`: mirror the decision only when it is not `allow` (a second look at one request). */
  recordAllow?: boolean;
}

export interface Containment {
  /** Decides on a request: the decision, the firewall's own response if it answers, headers to add otherwise. */
  decide(request: Request, context?: WaitUntilContext, hints?: DecideHints): Promise<Evaluation>;
  /** Where the rules in force came from, the last failure, the store and the mirror. */
  status(): ContainmentStatus;
  /** The ruleset in force (refreshing it if due). */
  ruleset(): Promise<CompiledRuleset>;
}

function processEnv(): Readonly<Record<string, string | undefined>> {
  return typeof process !== "undefined" && process.env ? process.env : {};
}

function defaultReport(event: string, detail?: Readonly<Record<string, unknown>>): void {
  console.warn(JSON.stringify({ source: "edge-containment", event, ...detail }));
}

/**
 * On Vercel (env `VERCEL=1`) the proxy overwrites `x-real-ip`, so the client address is trusted
 * unless the options say otherwise; anywhere else it is trusted only when the options say so.
 */
function normalizeOptions(
  given: NormalizeOptions | undefined,
  env: Readonly<Record<string, string | undefined>>,
): NormalizeOptions {
  const trusted = given?.clientIp?.trusted ?? env.VERCEL === "1";
  return { ...given, clientIp: { ...given?.clientIp, trusted } };
}

/** Problems of the rules source that also go to the mirror, next to the decisions they affect. */
const SOURCE_EVENTS = new Set([
  "rules-invalid",
  "rules-source-error",
  "rules-source-recovered",
  "rules-source-missing",
  "rules-document-missing",
  "fastlane-invalid",
]);

type WaitUntil = (promise: Promise<unknown>) => void;

function swallow(promise: Promise<unknown>): void {
  promise.catch(() => {});
}

/** What the factory sets up once: services for the rules, the store and the mirror. */
interface Setup {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly region: string;
  readonly services: Services;
  readonly storage: ReturnType<typeof createStorage>;
}

function setup(options: ContainmentOptions): Setup {
  const env = options.env ?? processEnv();
  const region = options.region ?? env.VERCEL_REGION ?? "local";
  const now = options.now ?? Date.now;
  const baseReport = options.onReport ?? defaultReport;
  let mirror: StorageMirror | undefined;
  const report: Services["report"] = (event, detail) => {
    baseReport(event, detail);
    if (mirror && SOURCE_EVENTS.has(event)) mirror.recordSource(event, detail, region);
  };
  const fetcher: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init));
  const storage = createStorage({
    fetch: fetcher,
    redis: options.redis,
    redisPrefix: options.redisPrefix,
    mirror: options.mirror,
    identity: options.identity,
    env,
    region,
    now,
    report,
  });
  mirror = storage.mirror;
  const services: Services = {
    now,
    fetch: fetcher,
    env,
    report,
    ...(storage.store ? { store: storage.store } : {}),
    ...(storage.detect ? { detect: storage.detect } : {}),
    keyring: storage.keyring,
  };
  return { env, region, services, storage };
}

/** The normalize options of a request: the factory's, or an adapter's per-request ones (Next's basePath). */
function normalizer(
  options: ContainmentOptions,
  env: Readonly<Record<string, string | undefined>>,
): (hints: DecideHints | undefined) => NormalizeOptions {
  const base = normalizeOptions(options.normalize, env);
  // An adapter's per-request options get the same defaults, once each.
  const cache = new WeakMap<NormalizeOptions, NormalizeOptions>();
  return (hints) => {
    const given = hints?.normalize;
    if (!given) return base;
    let done = cache.get(given);
    if (!done) {
      done = normalizeOptions(given, env);
      cache.set(given, done);
    }
    return done;
  };
}

/** Adds rewrite destinations as candidates: middleware runs before rewrites (see core/rewrites.ts). */
function rewriter(
  options: ContainmentOptions,
): (normalized: NormalizedRequest, normalize: NormalizeOptions | undefined) => NormalizedRequest {
  const rewrites: readonly CompiledRewrite[] | undefined =
    options.rewrites === undefined ? undefined : compileRewrites(options.rewrites);
  if (!rewrites || rewrites.length === 0) return (normalized) => normalized;
  return (normalized, normalize) => {
    const basePath = (normalize?.basePath ?? "").split("/").filter((part) => part !== "");
    const facts = { headers: normalized.request.headers, url: normalized.request.url, host: normalized.host };
    const paths = withRewriteTargets(normalized.paths, rewrites, facts, basePath);
    return paths.length === normalized.paths.length ? normalized : { ...normalized, paths };
  };
}

type RecordDecision = (
  decision: Decision,
  waitUntil: (promise: Promise<unknown>) => void,
  recordAllow?: boolean,
) => void;

/** Hands each decision to every sink (the mirror first); a failing sink never fails the request. */
function recorder(sinks: readonly DecisionSink[], services: Services): RecordDecision {
  const failed = (error: unknown) => services.report("mirror-error", { message: errorText(error) });
  return (decision, waitUntil, recordAllow = true) => {
    if (!recordAllow && decision.outcome === "allow") return;
    for (const sink of sinks) {
      try {
        sink.record(decision);
        waitUntil(sink.flush().catch(failed));
      } catch (error) {
        failed(error);
      }
    }
  };
}

/**
 * Builds the firewall. All setup (parsing fallback rules, the Edge Config client) happens here,
 * once; `decide` does only per-request work and never throws.
 *
 * @example
 * // Rules from EDGE_CONFIG; rate limits and the decision mirror on this Upstash database.
 * const containment = createContainment({ redis: { url, token } });
 * const { response, headers } = await containment.decide(request, context);
 */
export function createContainment(options: ContainmentOptions = {}): Containment {
  const { env, region, services, storage } = setup(options);
  const { mirror, store } = storage;
  const rules = rulesSource(options, services);
  const normalizeFor = normalizer(options, env);
  const rewritten = rewriter(options);
  const record = recorder([...(mirror ? [mirror] : []), ...(options.sinks ?? [])], services);

  // The enforcement report names the kill switches in force: told once per ruleset, not per request.
  let noted: CompiledRuleset | undefined;
  let told = "";
  function tell(enforcement: ReturnType<typeof enforcementOf>): boolean {
    const text = `${enforcement.digest}|${enforcement.switches.join()}|${enforcement.fast.join()}`;
    if (text === told) return false;
    told = text;
    mirror?.noteEnforcement?.(enforcement);
    return true;
  }
  function noteRuleset(ruleset: CompiledRuleset): CompiledRuleset {
    if (ruleset !== noted) {
      noted = ruleset;
      mirror?.noteRuleset?.(ruleset);
      tell(enforcementOf(ruleset));
    }
    return ruleset;
  }
  // A background refresh (or fast-lane read) that changed the rules is reported from its own
  // background task: otherwise an isolate whose one request after a flip started the refresh
  // reports the old rules until its next request, and `--wait` cannot confirm it.
  const reportingRefresh = (waitUntil: WaitUntil): WaitUntil =>
    mirror?.noteEnforcement === undefined
      ? waitUntil
      : (promise) =>
          waitUntil(
            promise.then(() => {
              const status = rules.status();
              const fast = [...(status.fast ?? [])].sort();
              const switches = (status.switches ?? []).filter((s) => !fast.includes(s)).sort();
              if (status.digest && tell({ digest: status.digest, switches, fast })) return mirror.flush();
            }),
          );

  // normalize → ruleset → evaluate (→ respond) → mirror
  async function decide(
    request: Request,
    context?: WaitUntilContext,
    hints?: DecideHints,
  ): Promise<Evaluation> {
    const startedAt = services.now();
    const waitUntil = context ? (promise: Promise<unknown>) => context.waitUntil(promise) : swallow;
    const normalize = normalizeFor(hints);
    const normalized = normalizeRequest(request, normalize, region);
    const ruleset = noteRuleset(await rules.current(reportingRefresh(waitUntil)));
    if (!normalized.ok) {
      const guarded = guardEvaluation(request, normalized, ruleset, region, {
        startedAt,
        now: services.now(),
      });
      record(guarded.decision, waitUntil);
      return guarded;
    }
    const target = rewritten(normalized.request, normalize);
    const result = await evaluate(ruleset, target, services, startedAt, waitUntil);
    record(result.decision, waitUntil, hints?.recordAllow !== false);
    return result;
  }

  return {
    decide,
    status: () => ({
      ...rules.status(),
      ...(store ? { store: store.status() } : {}),
      ...(mirror && storage.mirrorKind ? { mirror: { ...mirror.stats(), kind: storage.mirrorKind } } : {}),
    }),
    ruleset: () => Promise.resolve(rules.current(swallow)),
  };
}
