import { rulesetDigest } from "../core/digest.js";
import { type Cidr, parseCidr } from "../core/ip.js";
import type { PathCandidate } from "../core/path.js";
import type { NormalizedRequest } from "../core/request.js";
import type { Services } from "../model/services.js";
import type { RulesDocument } from "./document.js";
import { compileKillSwitch, type KillSwitchSpec } from "./kill-switch.js";
import type { PlacedLater } from "./kind.js";
import { PHASE_INDEX, RULE_KINDS, type RuleSpec } from "./kinds.js";
import { parsePattern, patternList } from "./pattern.js";
import { type RecordTenant, recordTenantOf } from "./recorded-tenant.js";
import type { CompileContext, CompiledRule } from "./rule.js";
import { addressedTenant, compileTenantSource, type TenantResolver } from "./tenancy.js";
import { RouteTrie, type TrieMatch } from "./trie.js";

const KINDS_BY_NAME: ReadonlyMap<string, unknown> = new Map(RULE_KINDS.map((k) => [k.kind, k]));

export type RulesetSource = "edge-config" | "fallback" | "static";

interface Binding {
  readonly rule: CompiledRule;
  readonly phaseIndex: number;
  readonly methods: ReadonlySet<string> | undefined;
  readonly hosts: ((host: string) => boolean) | undefined;
  readonly tenants: ReadonlySet<string> | undefined;
  /** The rule also matches readings with a guessed locale prefix (all but tenant binding). */
  readonly guessedLocales: boolean;
}

export interface MatchedRule {
  readonly rule: CompiledRule;
  readonly route: string;
  /** Parameters of the first path reading that matched. */
  readonly params: Readonly<Record<string, string>>;
  /** Parameters of every path reading (candidate and pattern) that matched, `params` first. */
  readonly readings: ReadonlyArray<Readonly<Record<string, string>>>;
}

export interface CompiledRuleset {
  /** Identifies this exact ruleset (document and kill-switch items) in decisions and `enforcing`. */
  readonly digest: string;
  readonly source: RulesetSource;
  readonly mode: "enforce" | "monitor";
  readonly document: RulesDocument;
  readonly rules: readonly CompiledRule[];
  readonly tenancy: TenantResolver | undefined;
  /** The tenant a record may name: declared or verified, else `~undeclared` (recorded-tenant.ts). */
  readonly recordTenant: RecordTenant;
  readonly breakGlass: readonly Cidr[];
  readonly compiledAt: number;
  /** Rules matching a request, in evaluation order (phase, then document order), each once. */
  match(request: NormalizedRequest): MatchedRule[];
}

type Matched = MatchedRule & {
  readonly binding: Binding;
  /** Matched on a reading whose locale prefix is not a guess. */
  readonly exact: boolean;
  readonly readings: Array<Readonly<Record<string, string>>>;
};

function hasAny(set: ReadonlySet<string>, values: readonly string[]): boolean {
  for (const value of values) if (set.has(value)) return true;
  return false;
}

function hostMatcher(hosts: readonly string[]): (host: string) => boolean {
  const exact = new Set(hosts.filter((h) => !h.startsWith("*.")));
  const suffixes = hosts.filter((h) => h.startsWith("*.")).map((h) => h.slice(1));
  return (host) => exact.has(host) || suffixes.some((suffix) => host.endsWith(suffix));
}

/** Compile dispatch through the registry: the spec was validated against its kind's schema. */
function compileSpec(spec: RuleSpec, context: CompileContext): PlacedLater {
  const kind = KINDS_BY_NAME.get(spec.kind) as {
    compile(spec: RuleSpec, context: CompileContext): PlacedLater;
  };
  return kind.compile(spec, context);
}

/**
 * Compiles a validated document plus the kill-switch items into a ruleset. Done once per change of
 * the inputs, never per request.
 */
export function compileRuleset(
  document: RulesDocument,
  killSwitches: ReadonlyArray<{ key: string; spec: KillSwitchSpec }>,
  source: RulesetSource,
  services: Services,
): CompiledRuleset {
  const context: CompileContext = {
    services,
    tenants: document.tenants,
    rules: document.rules,
    ...(document.detection?.neverContain ? { neverContain: document.detection.neverContain } : {}),
  };
  const rules: CompiledRule[] = [];
  // Assigned into the freshly compiled object rather than spread into a copy: on Node 20 a spread
  // followed by more properties costs 1.5-2 µs an object, thousands of times at cold start.
  const place = (compiled: PlacedLater, source: string): CompiledRule =>
    Object.assign(compiled, { order: rules.length, source });
  for (const spec of document.rules) rules.push(place(compileSpec(spec, context), "rules"));
  for (const { key, spec } of killSwitches) rules.push(place(compileKillSwitch(spec), key));

  const trie = new RouteTrie<Binding>();
  for (const rule of rules) {
    const binding: Binding = {
      rule,
      phaseIndex: PHASE_INDEX.get(rule.kind) ?? PHASE_INDEX.size,
      methods: rule.match.methods ? new Set(rule.match.methods) : undefined,
      hosts: rule.match.hosts ? hostMatcher(rule.match.hosts) : undefined,
      tenants: rule.match.tenants ? new Set(rule.match.tenants.map((t) => t.toLowerCase())) : undefined,
      guessedLocales: rule.kind !== "tenant-binding",
    };
    for (const pattern of patternList(rule.match.path)) {
      // Memoized (pattern.ts): validation parsed it already, and many rules share a route.
      const parsed = parsePattern(pattern);
      if (typeof parsed !== "string") trie.insert(pattern, parsed, binding);
    }
  }

  const tenancy = document.tenancy ? compileTenantSource(document.tenancy) : undefined;
  const digest = rulesetDigest(document, killSwitches);

  return {
    digest,
    source,
    mode: document.mode ?? "enforce",
    document,
    rules,
    tenancy,
    recordTenant: recordTenantOf(
      document,
      rules.flatMap((rule) => rule.match.tenants ?? []),
    ),
    breakGlass: (document.breakGlass?.cidrs ?? []).flatMap((text) => parseCidr(text) ?? []),
    compiledAt: services.now(),
    match(request) {
      // Hot path (every request): indexed loops and no closures; a Set and a sort only when needed.
      const paths = request.paths;
      const methods = request.methods;
      // The method filter, applied inside the walk: it has no side effects, so dropping an entry
      // there is the same as skipping it below, minus the match record.
      const accept = (binding: Binding): boolean =>
        binding.methods === undefined || hasAny(binding.methods, methods);
      const hits: TrieMatch<Binding>[] = [];
      let guesses = false;
      for (let index = 0; index < paths.length; index++) {
        const path = paths[index] as PathCandidate;
        if (path.localeGuess) guesses = true;
        else trie.collect(path.lower, index, hits, accept);
      }
      // Readings whose locale prefix is only guessed (core/path.ts) last, and never for tenant
      // binding, which reads path positions exactly: a rule matched exactly keeps its exact readings.
      const exactHits = hits.length;
      if (guesses) {
        const acceptGuessed = (binding: Binding): boolean => binding.guessedLocales && accept(binding);
        for (let index = 0; index < paths.length; index++) {
          const path = paths[index] as PathCandidate;
          if (path.localeGuess) trie.collect(path.lower, index, hits, acceptGuessed);
        }
      }
      if (hits.length === 0) return [];
      const byRule = hits.length > 1 ? new Map<CompiledRule, Matched>() : undefined;
      const matched: Matched[] = [];
      for (let hit = 0; hit < hits.length; hit++) {
        const { entry, candidate } = hits[hit] as TrieMatch<Binding>;
        const binding = entry.value;
        if (binding.hosts && !binding.hosts(request.host)) continue;
        const segments = paths[candidate]?.segments ?? [];
        const params: Record<string, string> = {};
        for (const [index, name] of entry.params) params[name] = segments[index] ?? "";
        // Each reading is scoped on its own: a tenant-scoped switch blocks if any reading addresses
        // one of its tenants. With many tenant-scoped rules on one route, most entries here belong
        // to other tenants, so this runs before anything is recorded.
        if (binding.tenants) {
          const effective = addressedTenant(request, [params], tenancy);
          if (effective === undefined || !binding.tenants.has(effective.toLowerCase())) continue;
        }
        const earlier = byRule?.get(binding.rule);
        if (earlier) {
          if (hit >= exactHits && earlier.exact) continue;
          earlier.readings.push(params);
          continue;
        }
        const match: Matched = {
          rule: binding.rule,
          route: entry.pattern,
          params,
          readings: [params],
          binding,
          exact: hit < exactHits,
        };
        byRule?.set(binding.rule, match);
        matched.push(match);
      }
      if (matched.length > 1)
        matched.sort((x, y) => x.binding.phaseIndex - y.binding.phaseIndex || x.rule.order - y.rule.order);
      return matched.map(({ rule, route, params, readings }) => ({ rule, route, params, readings }));
    },
  };
}
