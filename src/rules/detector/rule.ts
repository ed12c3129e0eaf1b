/**
 * `detector` compiled (schema: schema.ts; docs/detection.md). Per request it does two things and
 * never makes the request wait on Redis:
 *
 * 1. on its quarantine scope, refuses a key the isolate knows to be quarantined by this detector
 *    (its own trips, and what each flush answers for the keys it watches);
 * 2. on its own routes, adds the request to the isolate's batch (src/stores/detect/), whose flush
 *    decides trips in Redis, atomically, once across isolates.
 *
 * What keeps a detector from being aimed at a victim is checked here at compile time: only keys made
 * of what tenant binding verified may act; a whole tenant only with a person's approval; scope and
 * time bounded; a budget and a settling guard decided in Redis with the trip.
 */
import { parseDuration } from "../../core/duration.js";
import { RulesInvalid } from "../../core/errors.js";
import { sha256Hex } from "../../core/hash.js";
import type { Keyring } from "../../core/identity.js";
import { type Cidr, cidrContains, parseCidr } from "../../core/ip.js";
import type { PathCandidate } from "../../core/path.js";
import { isPreflight } from "../../core/preflight.js";
import type { NormalizedRequest } from "../../core/request.js";
import type { RuleKind } from "../../model/decision.js";
import type { DetectCount, DetectPlan, DetectStore } from "../../model/detect-store.js";
import type { Verdict } from "../../model/verdict.js";
import { defineRuleKind, type PlacedLater } from "../kind.js";
import { matchPattern, type PatternSegment, parsePattern, patternList } from "../pattern.js";
import { rateLimitKeys } from "../rate-limit/keys.js";
import type { CompileContext, RuleContext } from "../rule.js";
import { addressedTenant } from "../tenancy.js";
import { DEFAULT_DECOY_KEY_ENV, decoyHash, directOrSameOrigin, prefetchSignal } from "./decoy.js";
import { DETECT_KEYS, detectionId } from "./keys.js";
import { DETECTOR_RULE, type DetectorRuleSpec } from "./schema.js";

type Part = DetectorRuleSpec["by"][number];
/** Key parts in canonical order: the same key whatever order the rule lists them in. */
const ORDER: readonly Part[] = ["tenant", "addressed-tenant", "user", "ip"];
const VERIFIED: ReadonlySet<Part> = new Set(["user", "tenant"]);

export const DETECTOR_DEFAULTS = {
  budget: { max: 10, per: "1h" },
  settle: { for: "10m", maxKeys: 5 },
  honeytokenWindow: "1h",
  maxQuarantineMs: 86_400_000,
} as const;

const QUARANTINED_MESSAGE = "Too many requests.";

interface Settings {
  readonly spec: DetectorRuleSpec;
  readonly by: readonly Part[];
  readonly windowMs: number;
  readonly threshold: number;
  readonly countPatterns: readonly (readonly PatternSegment[])[];
  /** The text of each counting pattern (same order): a detection names the route template it counted on. */
  readonly countRoutes: readonly string[];
  readonly countMethods: ReadonlySet<string> | undefined;
  readonly quarantine:
    | { patterns: readonly (readonly PatternSegment[])[]; forMs: number; wholeTenant: boolean }
    | undefined;
  readonly neverContain: readonly (readonly PatternSegment[])[];
  readonly budget: { max: number; ms: number };
  readonly settle: { ms: number; keys: number };
  readonly failMode: "open" | "closed";
  readonly decoys: ReadonlySet<string>;
  readonly decoyEnv: string;
  readonly allowSubjects: ReadonlySet<string>;
  readonly allowCidrs: readonly Cidr[];
  /** Digest of the spec: a change restarts the settling guard (keys.ts, `epoch`). */
  readonly specDigest: string;
  readonly surge: { multiplier: number; baselineMs: number } | undefined;
}

function patternsOf(path: string | readonly string[]): (readonly PatternSegment[])[] {
  return patternList(path).flatMap((pattern) => {
    const parsed = parsePattern(pattern);
    return typeof parsed === "string" ? [] : [parsed];
  });
}

/** Non-cryptographic digest of the spec (FNV-1a 32): names its settling epoch, compared for equality only. */
function specDigestOf(spec: DetectorRuleSpec): string {
  let hash = 0x811c9dc5;
  const text = JSON.stringify(spec);
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/** Cross-field checks, each naming the JSON path to fix. The safety rules of docs/detection.md live here. */
function checkSpec(spec: DetectorRuleSpec, context: CompileContext): void {
  const fault = (field: string, message: string): Error => {
    const index = context.rules.indexOf(spec);
    return new RulesInvalid([{ path: `${index === -1 ? "$" : `$.rules[${index}]`}.${field}`, message }]);
  };
  if (new Set(spec.by).size !== spec.by.length) throw fault("by", "must not repeat a key part");
  if (spec.by.includes("tenant") && spec.by.includes("addressed-tenant"))
    throw fault("by", 'must use either "tenant" (verified) or "addressed-tenant", not both');
  if (spec.detect !== "honeytoken" && spec.window === undefined)
    throw fault("window", `is required for a ${spec.detect} detector, like "10m"`);
  if (spec.detect !== "honeytoken" && spec.threshold === undefined)
    throw fault("threshold", `is required for a ${spec.detect} detector: it trips above this count`);
  if (spec.detect === "enumeration" && (spec.threshold ?? 0) < 1)
    throw fault("threshold", "must be at least 1 for enumeration (distinct values above it trip)");
  if ((spec.detect === "probing" || spec.detect === "surge") && spec.param !== undefined)
    throw fault(
      "param",
      `is not used by ${spec.detect} (it counts requests${spec.detect === "probing" ? " refused by tenant binding" : ""})`,
    );
  if (spec.detect === "surge" && spec.multiplier === undefined)
    throw fault(
      "multiplier",
      "is required for surge: it trips above this multiple of the key's trailing rate, like 10",
    );
  if (spec.detect !== "surge" && (spec.multiplier !== undefined || spec.baseline !== undefined))
    throw fault(spec.multiplier !== undefined ? "multiplier" : "baseline", "is only for surge detectors");
  if (
    spec.detect === "surge" &&
    (parseDuration(spec.baseline ?? "24h") as number) < 10 * (parseDuration(spec.window ?? "1m") as number)
  )
    throw fault("baseline", "must reach back at least 10 windows, or the trailing rate is noise");
  if (spec.detect === "enumeration" || spec.detect === "honeytoken") {
    if (spec.param === undefined)
      throw fault("param", `is required for ${spec.detect}: the :parameter of match.path to count`);
    for (const pattern of patternList(spec.match.path)) {
      const parsed = parsePattern(pattern);
      if (typeof parsed !== "string" && !parsed.some((s) => s.type === "param" && s.name === spec.param))
        throw fault(
          "param",
          `must be captured by every pattern of match.path: ${JSON.stringify(pattern)} has no :${spec.param}`,
        );
    }
  }
  if (spec.detect === "honeytoken" && spec.decoys === undefined)
    throw fault(
      "decoys",
      "is required for honeytoken: keyed hashes from `containment detections decoy-hash`",
    );
  if (spec.detect !== "honeytoken" && (spec.decoys !== undefined || spec.decoyKeyEnv !== undefined))
    throw fault("decoys", "is only for honeytoken detectors");
  if (spec.detect === "honeytoken" && !spec.by.includes("user"))
    throw fault("by", 'must include "user": a honeytoken counts only hits by a verified subject');
  checkAction(spec, fault);
}

function checkAction(spec: DetectorRuleSpec, fault: (field: string, message: string) => Error): void {
  const action = spec.action;
  if (action === undefined || action === "alert") return;
  const unverified = spec.by.filter((part) => !VERIFIED.has(part));
  if (spec.detect === "probing")
    throw fault(
      "action",
      'must be "alert" for probing: a refused request carries no verified identity, so its key could be a victim\'s',
    );
  if (unverified.length > 0)
    throw fault(
      "action.quarantine",
      `cannot act on a key made from the request (${unverified.join(", ")}): an attacker chooses those values, so they may only alert; key by "user" and "tenant" (verified by tenant binding) to quarantine`,
    );
  const forMs = parseDuration(action.quarantine.for) as number;
  if (forMs > DETECTOR_DEFAULTS.maxQuarantineMs)
    throw fault("action.quarantine.for", "must be at most 24h: automatic actions are bounded in time");
  const wholeTenant = !spec.by.includes("user");
  if (wholeTenant && action.quarantine.wholeTenant !== "with-approval")
    throw fault(
      "action.quarantine",
      'would contain a whole tenant (the key has no "user"): off by default; add "wholeTenant": "with-approval" so a person approves each one',
    );
  if (!wholeTenant && action.quarantine.wholeTenant !== undefined)
    throw fault("action.quarantine.wholeTenant", 'is only for a key of the tenant alone (no "user")');
  for (const [index, pattern] of patternsOf(action.quarantine.path).entries()) {
    if (pattern.length > 0 && pattern[0]?.type === "rest")
      throw fault(
        typeof action.quarantine.path === "string"
          ? "action.quarantine.path"
          : `action.quarantine.path[${index}]`,
        "must not cover every route: name the routes the detector protects, like /api/:tenant/patients/**",
      );
  }
}

function settingsOf(spec: DetectorRuleSpec, context: CompileContext): Settings {
  checkSpec(spec, context);
  const action = spec.action === undefined || spec.action === "alert" ? undefined : spec.action.quarantine;
  const budget = spec.budget ?? DETECTOR_DEFAULTS.budget;
  const settle = spec.settle ?? DETECTOR_DEFAULTS.settle;
  return {
    spec,
    by: ORDER.filter((part) => spec.by.includes(part)),
    windowMs: parseDuration(spec.window ?? DETECTOR_DEFAULTS.honeytokenWindow) as number,
    threshold: spec.threshold ?? 0,
    countPatterns: patternsOf(spec.match.path),
    countRoutes: patternList(spec.match.path),
    countMethods: spec.match.methods ? new Set(spec.match.methods) : undefined,
    quarantine: action && {
      patterns: patternsOf(action.path),
      forMs: parseDuration(action.for) as number,
      wholeTenant: action.wholeTenant === "with-approval",
    },
    neverContain: patternsOf(context.neverContain ?? []),
    budget: { max: budget.max, ms: parseDuration(budget.per) as number },
    settle: { ms: parseDuration(settle.for) as number, keys: settle.maxKeys },
    failMode: spec.failMode ?? "open",
    decoys: new Set(spec.decoys ?? []),
    decoyEnv: spec.decoyKeyEnv ?? DEFAULT_DECOY_KEY_ENV,
    allowSubjects: new Set(spec.allow?.subjects ?? []),
    allowCidrs: (spec.allow?.cidrs ?? []).flatMap((text) => parseCidr(text) ?? []),
    specDigest: specDigestOf(spec),
    surge:
      spec.detect === "surge"
        ? {
            multiplier: spec.multiplier as number,
            baselineMs: parseDuration(spec.baseline ?? "24h") as number,
          }
        : undefined,
  };
}

/** The first pattern (its index) a path reading matches, with its parameters; undefined when none does. */
function matchAny(
  request: NormalizedRequest,
  patterns: readonly (readonly PatternSegment[])[],
): { index: number; params: Record<string, string> } | undefined {
  for (const path of request.paths as readonly PathCandidate[]) {
    for (const [index, pattern] of patterns.entries()) {
      const params = matchPattern(pattern, path.segments, path.lower);
      if (params) return { index, params };
    }
  }
  return undefined;
}

interface Key {
  readonly dimension: string;
  readonly id: string;
  readonly tenant: string | undefined;
}

/**
 * The key's dimension and pseudonyms, or undefined when a part is missing: a detector keyed by the
 * verified subject never falls back to the client address (that would make the key the victim's).
 */
async function keyOf(settings: Settings, keyring: Keyring, ctx: RuleContext): Promise<Key | undefined> {
  const dimensions: string[] = [];
  const ids: string[] = [];
  const addressed = addressedTenant(ctx.request, ctx.readings, ctx.ruleset.tenancy);
  for (const part of settings.by) {
    let id: string | undefined;
    if (part === "tenant") {
      const tenant = ctx.identity.tenant;
      id = tenant === undefined ? undefined : await keyring.pseudonym("tenant", tenant.toLowerCase());
    } else if (part === "addressed-tenant") {
      id = addressed === undefined ? undefined : await keyring.pseudonym("tenant", addressed.toLowerCase());
    } else if (part === "user") {
      const user = ctx.identity.user;
      id = user === undefined || user === "" ? undefined : await keyring.pseudonym("user", user);
    } else {
      const ip = ctx.request.ip;
      id = ip === undefined ? undefined : await keyring.pseudonym("ip", keyring.bucket(ip));
    }
    if (id === undefined) return undefined;
    dimensions.push(part);
    ids.push(id);
  }
  // Detections and quarantine records name a tenant only when the document declares it or
  // tenant binding verified it (rules/recorded-tenant.ts): an addressed one is the client's string.
  const tenant = ctx.ruleset.recordTenant(
    ctx.identity.tenant ?? addressed,
    ctx.identity.tenant !== undefined,
  );
  return { dimension: dimensions.join("+"), id: ids.join("."), tenant };
}

function quarantinedVerdict(untilMs: number, now: number): Verdict {
  return {
    action: "block",
    outcome: "block",
    status: 429,
    reason: "detector-quarantine",
    message: QUARANTINED_MESSAGE,
    retryAfter: Math.max(1, Math.ceil((untilMs - now) / 1000)),
  };
}

function planOf(settings: Settings, key: Key, monitor: boolean, now: number, id: string): DetectPlan {
  const { spec, quarantine } = settings;
  if (!quarantine) return { mode: "alert" };
  if (monitor) return { mode: "monitor" };
  const record = JSON.stringify({
    rule: spec.id,
    scope: "rule",
    dimension: key.dimension,
    at: now,
    until: now + quarantine.forMs,
    detection: id,
    ...(key.tenant === undefined ? {} : { tenant: key.tenant.toLowerCase() }),
  });
  return {
    mode: quarantine.wholeTenant ? "approval" : "quarantine",
    quarantineKey: rateLimitKeys.quarantine(key.dimension, key.id, spec.id),
    record,
    forMs: quarantine.forMs,
    budgetKey: DETECT_KEYS.budget(spec.id, key.dimension, Math.floor(now / settings.budget.ms).toString(36)),
    budgetMax: settings.budget.max,
    budgetMs: settings.budget.ms,
    epochKey: DETECT_KEYS.epoch(spec.id, settings.specDigest),
    spikeKey: DETECT_KEYS.spike(spec.id, settings.specDigest),
    settleMs: settings.settle.ms,
    settleKeys: settings.settle.keys,
  };
}

/** Adds one count for `key` to the store's batch. */
async function count(
  settings: Settings,
  store: DetectStore,
  ctx: RuleContext,
  key: Key,
  value: string | undefined,
  route: string,
): Promise<void> {
  const { spec } = settings;
  const now = ctx.services.now();
  const window = Math.floor(now / settings.windowMs);
  const keyName = `${key.dimension}:${key.id}`;
  const id = detectionId(spec.id, window, await sha256Hex(keyName));
  const monitor = spec.mode === "monitor" || ctx.ruleset.mode === "monitor";
  const entry: DetectCount = {
    detector: spec.id,
    type: spec.detect,
    counter: DETECT_KEYS.counter(spec.id, keyName, window.toString(36)),
    detectionKey: DETECT_KEYS.detection(id),
    detectionId: id,
    dimension: key.dimension,
    keyId: key.id,
    route,
    tenant: key.tenant?.toLowerCase(),
    window,
    windowMs: settings.windowMs,
    threshold: settings.threshold,
    ...(value === undefined ? {} : { value }),
    ...(settings.surge
      ? { surge: { baselineKey: DETECT_KEYS.baseline(spec.id, keyName), ...settings.surge } }
      : {}),
    plan: planOf(settings, key, monitor, now, id),
  };
  store.count(entry, ctx.waitUntil);
}

/** A honeytoken hit that may count: verified subject, direct or same-origin, no prefetch, not allowed. */
function honeytokenEligible(settings: Settings, ctx: RuleContext): boolean {
  const headers = ctx.request.request.headers;
  const user = ctx.identity.user;
  if (user === undefined || user === "") return false;
  if (!directOrSameOrigin(headers) || prefetchSignal(headers)) return false;
  if (settings.allowSubjects.has(user)) return false;
  const ip = ctx.request.ip;
  return !(ip && settings.allowCidrs.some((cidr) => cidrContains(cidr, ip)));
}

function compileDetector(spec: DetectorRuleSpec, context: CompileContext): PlacedLater {
  const settings = settingsOf(spec, context);
  const { services } = context;
  const store = services.detect;
  const keyring = services.keyring;
  if (!store)
    services.report("store-missing", {
      rule: spec.id,
      message: `detector ${spec.id} has no store (configure redis): it counts nothing and fails ${settings.failMode}`,
    });
  const unavailable: Verdict = {
    action: "fail",
    failMode: settings.failMode,
    reason: "detector-unavailable",
  };

  function inQuarantineScope(request: NormalizedRequest): boolean {
    const quarantine = settings.quarantine;
    if (!quarantine || matchAny(request, quarantine.patterns) === undefined) return false;
    return settings.neverContain.length === 0 || matchAny(request, settings.neverContain) === undefined;
  }

  async function enforce(ctx: RuleContext, active: DetectStore, key: Key): Promise<Verdict | undefined> {
    const quarantineKey = rateLimitKeys.quarantine(key.dimension, key.id, spec.id);
    const until = active.quarantinedUntil(quarantineKey);
    const now = services.now();
    // Asked about while refused too (at most every 500 ms per key): a release reaches every
    // isolate that knew the quarantine within about half a second, not when it would have expired.
    active.watch(quarantineKey, ctx.waitUntil);
    if (until !== undefined && until > now) return quarantinedVerdict(until, now);
    return undefined;
  }

  async function countRequest(ctx: RuleContext, active: DetectStore, key: Key): Promise<void> {
    if (spec.detect === "probing") return;
    const { request } = ctx;
    if (settings.countMethods && !request.methods.some((m) => settings.countMethods?.has(m))) return;
    const matched = matchAny(request, settings.countPatterns);
    if (spec.detect === "surge") {
      if (matched)
        await count(settings, active, ctx, key, undefined, settings.countRoutes[matched.index] as string);
      return;
    }
    const raw = matched?.params[spec.param as string];
    if (matched === undefined || raw === undefined || raw === "" || !keyring) return;
    const route = settings.countRoutes[matched.index] as string;
    if (spec.detect === "enumeration") {
      await count(settings, active, ctx, key, await keyring.pseudonym("value", raw), route);
      return;
    }
    if (!honeytokenEligible(settings, ctx)) return;
    const secret = services.env[settings.decoyEnv];
    if (!secret) {
      services.report("detector-secret-missing", {
        rule: spec.id,
        message: `honeytoken ${spec.id}: environment variable ${settings.decoyEnv} is not set; no decoy can match`,
      });
      return;
    }
    if (settings.decoys.has(await decoyHash(secret, raw)))
      await count(settings, active, ctx, key, undefined, route);
  }

  async function evaluate(ctx: RuleContext): Promise<Verdict | undefined> {
    // Probing counts refusals only (observe); a preflight carries no data.
    if (spec.detect === "probing" || isPreflight(ctx.request.method, ctx.request.request.headers))
      return undefined;
    const scoped = inQuarantineScope(ctx.request);
    if (!store || !keyring || !store.healthy()) return scoped ? unavailable : undefined;
    const key = await keyOf(settings, keyring, ctx);
    if (key === undefined) return undefined;
    if (scoped) {
      const refused = await enforce(ctx, store, key);
      if (refused) return refused;
    }
    await countRequest(ctx, store, key);
    return undefined;
  }

  /** Probing: a tenant-binding refusal on this detector's routes counts for the refused request's key. */
  function observe(ctx: RuleContext, verdict: Verdict, by: RuleKind): void {
    if (spec.detect !== "probing" || by !== "tenant-binding" || verdict.action !== "block") return;
    if (!store || !keyring) return;
    ctx.waitUntil(
      keyOf(settings, keyring, ctx).then((key) =>
        key === undefined ? undefined : count(settings, store, ctx, key, undefined, ctx.route),
      ),
    );
  }

  const quarantinePaths =
    spec.action === undefined || spec.action === "alert" ? [] : patternList(spec.action.quarantine.path);
  const ownPaths = patternList(spec.match.path);
  return {
    id: spec.id,
    kind: "detector",
    monitor: spec.mode === "monitor",
    // The rule runs on its own routes (to count) and on its quarantine scope (to enforce, any method).
    match: {
      ...spec.match,
      path: [...new Set([...ownPaths, ...quarantinePaths])],
      ...(quarantinePaths.length > 0 ? { methods: undefined } : {}),
    },
    evaluate,
    observe,
  };
}

export const DETECTOR = defineRuleKind({ kind: "detector", schema: DETECTOR_RULE, compile: compileDetector });
