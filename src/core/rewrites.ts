/**
 * Rewrite awareness. Next.js (and Vercel's `rewrites`) run middleware BEFORE rewrites, so a request
 * for `/legacy/export/1` that the app rewrites to `/api/patients/1/export` reaches the firewall as
 * the source path: a rule written on the destination would never see it. Given the app's rewrite
 * table, every path candidate that a rewrite's `source` (and `has`/`missing` conditions) matches
 * also yields the destination as a candidate, so a rule on the destination blocks its sources.
 *
 * Sources use the path-to-regexp 6 syntax Next.js and vercel.json use (`/:id`, `/:path*`,
 * `/:id(\\d+)`, `(.*)`); `{…}` groups are refused at setup with the JSON path of the rule, so an
 * unsupported source is an error, never a rewrite silently ignored. Hand-written rather than
 * depending on path-to-regexp 6: ~100 lines instead of a second major version of the library next
 * to the one the benchmarks use, and the edge bundle stays small.
 */
import { ConfigInvalid, errorText } from "./errors.js";
import type { PathCandidate } from "./path.js";

export interface RewriteCondition {
  type: "header" | "cookie" | "query" | "host";
  key?: string;
  /** A regular expression the whole value must match (Next.js semantics); absent: presence is enough. */
  value?: string;
}

export interface RewriteRule {
  source: string;
  destination: string;
  has?: readonly RewriteCondition[];
  missing?: readonly RewriteCondition[];
  /** `false`: source and destination include the app's basePath themselves (Next.js `basePath: false`). */
  basePath?: false;
  locale?: false;
}

/** What `rewrites()` in next.config returns: a list (= afterFiles) or the three phases. */
export type RewritesOption =
  | readonly RewriteRule[]
  | {
      beforeFiles?: readonly RewriteRule[];
      afterFiles?: readonly RewriteRule[];
      fallback?: readonly RewriteRule[];
    };

interface CompiledCondition {
  type: RewriteCondition["type"];
  key: string;
  value: RegExp | undefined;
}

export interface CompiledRewrite {
  source: RegExp;
  keys: readonly string[];
  destination: string;
  has: readonly CompiledCondition[];
  missing: readonly CompiledCondition[];
  rawBasePath: boolean;
}

const DEFAULT_PATTERN = "[^\\/#\\?]+?";
const NAME = /^[A-Za-z0-9_]+/;
/** Chains of rewrites are followed this deep; more candidates than this per request are not added. */
const MAX_ROUNDS = 3;
const MAX_CANDIDATES = 24;

function escapeRegex(text: string): string {
  return text.replace(/[.+*?^${}()[\]|/\\]/g, "\\$&");
}

function configError(path: string, message: string): ConfigInvalid {
  return new ConfigInvalid(`${path}: ${message}`, { issues: [{ path, message }] });
}

/** Reads a `(…)` group starting at `start`; returns its body and the index after it. */
function readGroup(source: string, start: number, path: string): [string, number] {
  let depth = 0;
  for (let i = start; i < source.length; i++) {
    const char = source[i];
    if (char === "\\") i++;
    else if (char === "(") depth++;
    else if (char === ")" && --depth === 0) return [source.slice(start + 1, i), i + 1];
  }
  throw configError(path, `unbalanced "(" in ${JSON.stringify(source)}`);
}

function paramRegex(prefix: string, pattern: string, modifier: string): string {
  const pre = escapeRegex(prefix);
  if (modifier === "*" || modifier === "+")
    return `(?:${pre}((?:${pattern})(?:${pre}(?:${pattern}))*))${modifier === "*" ? "?" : ""}`;
  return modifier === "?" ? `(?:${pre}(${pattern}))?` : `${pre}(${pattern})`;
}

/** path-to-regexp 6 semantics as Next.js uses them: case-insensitive, `/` and `.` as parameter prefixes. */
export function compileSource(source: string, path: string): { regex: RegExp; keys: string[] } {
  if (!source.startsWith("/")) throw configError(path, `must start with "/", got ${JSON.stringify(source)}`);
  const keys: string[] = [];
  let out = "";
  let literal = "";
  let i = 0;
  while (i < source.length) {
    const char = source[i] as string;
    if (char === "\\") {
      literal += source[i + 1] ?? "";
      i += 2;
      continue;
    }
    if (char === "{" || char === "}")
      throw configError(path, `"{…}" groups are not supported; write one rewrite per form`);
    if (char !== ":" && char !== "(") {
      literal += char;
      i++;
      continue;
    }
    let name = String(keys.length);
    if (char === ":") {
      const match = NAME.exec(source.slice(i + 1));
      if (!match) throw configError(path, `missing parameter name at offset ${i}`);
      name = match[0];
      i += 1 + name.length;
    }
    let pattern = DEFAULT_PATTERN;
    if (source[i] === "(") [pattern, i] = readGroup(source, i, path);
    const modifier = "?*+".includes(source[i] ?? "x") ? (source[i++] as string) : "";
    const last = literal.at(-1);
    const prefix = last === "/" || last === "." ? last : "";
    out += escapeRegex(prefix ? literal.slice(0, -1) : literal) + paramRegex(prefix, pattern, modifier);
    literal = "";
    keys.push(name);
  }
  out += escapeRegex(literal);
  try {
    return { regex: new RegExp(`^${out}(?:\\/)?$`, "i"), keys };
  } catch (error) {
    throw configError(path, `not a valid pattern: ${errorText(error)}`);
  }
}

function compileCondition(condition: RewriteCondition, path: string): CompiledCondition {
  const types = ["header", "cookie", "query", "host"];
  if (!types.includes(condition.type))
    throw configError(`${path}.type`, `must be one of ${types.join(", ")}`);
  if (condition.type !== "host" && (typeof condition.key !== "string" || condition.key === ""))
    throw configError(`${path}.key`, "must be a non-empty string");
  let value: RegExp | undefined;
  if (condition.value !== undefined) {
    try {
      value = new RegExp(`^${condition.value}$`);
    } catch {
      throw configError(`${path}.value`, "is not a valid regular expression");
    }
  }
  const key = condition.type === "header" ? (condition.key ?? "").toLowerCase() : (condition.key ?? "");
  return { type: condition.type, key, value };
}

function phases(option: RewritesOption): Array<[string, readonly RewriteRule[]]> {
  if (Array.isArray(option)) return [["rewrites", option]];
  const table = option as Exclude<RewritesOption, readonly RewriteRule[]>;
  return (["beforeFiles", "afterFiles", "fallback"] as const).map((phase) => [
    `rewrites.${phase}`,
    table[phase] ?? [],
  ]);
}

/** Validates and compiles a rewrite table once, at setup; throws ERR_CONFIG naming the bad field. */
export function compileRewrites(option: RewritesOption): CompiledRewrite[] {
  const compiled: CompiledRewrite[] = [];
  for (const [base, rules] of phases(option)) {
    if (!Array.isArray(rules)) throw configError(base, "must be a list of rewrites");
    rules.forEach((rule: RewriteRule, index) => {
      const path = `${base}[${index}]`;
      if (typeof rule?.source !== "string") throw configError(`${path}.source`, "must be a string");
      if (typeof rule.destination !== "string") throw configError(`${path}.destination`, "must be a string");
      // Another origin: the firewall's rules are about this app's routes, and the other origin has its own.
      if (/^[a-z][a-z0-9+.-]*:/i.test(rule.destination)) return;
      const { regex, keys } = compileSource(rule.source, `${path}.source`);
      compiled.push({
        source: regex,
        keys,
        destination: rule.destination,
        has: (rule.has ?? []).map((c, i) => compileCondition(c, `${path}.has[${i}]`)),
        missing: (rule.missing ?? []).map((c, i) => compileCondition(c, `${path}.missing[${i}]`)),
        rawBasePath: rule.basePath === false,
      });
    });
  }
  return compiled;
}

/** What conditions read from the request, gathered lazily (most requests match no source at all). */
export interface RewriteRequestFacts {
  headers: Headers;
  url: string;
  host: string;
}

function cookieValue(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function conditionInput(condition: CompiledCondition, facts: RewriteRequestFacts): string | undefined {
  switch (condition.type) {
    case "header":
      return facts.headers.get(condition.key) ?? undefined;
    case "cookie":
      return cookieValue(facts.headers.get("cookie"), condition.key);
    case "host":
      return facts.host;
    case "query": {
      const values = new URL(facts.url).searchParams.getAll(condition.key);
      return values.length > 0 ? values[values.length - 1] : undefined;
    }
  }
}

/** Next.js `matchHas`: presence, or a whole-value match whose named groups become parameters. */
function holds(condition: CompiledCondition, facts: RewriteRequestFacts, params: Record<string, string>) {
  const input = conditionInput(condition, facts);
  if (input === undefined) return false;
  if (!condition.value) {
    if (condition.type !== "host") params[condition.key.replace(/[^A-Za-z0-9_]/g, "")] = input;
    return true;
  }
  const match = condition.value.exec(input);
  if (!match) return false;
  for (const [name, value] of Object.entries(match.groups ?? {}))
    if (value !== undefined) params[name] = value;
  return true;
}

function substitute(destination: string, params: Readonly<Record<string, string>>): string {
  const pathname = destination.split(/[?#]/, 1)[0] ?? "";
  return pathname.replace(/:([A-Za-z0-9_]+)(\([^)]*\))?[?*+]?/g, (_, name: string) => params[name] ?? "");
}

function candidateOf(path: string): PathCandidate {
  const segments = path.split("/").filter((part) => part !== "" && part !== ".");
  return { segments, lower: segments.map((part) => part.toLowerCase()) };
}

function apply(
  rewrite: CompiledRewrite,
  candidate: PathCandidate,
  facts: RewriteRequestFacts,
  basePath: readonly string[],
): PathCandidate | undefined {
  // A `basePath: false` source reads the raw path; the candidate may or may not have had the base
  // stripped (a path outside the base keeps it all), so try both readings.
  let match = rewrite.source.exec(`/${candidate.segments.join("/")}`);
  if (!match && rewrite.rawBasePath && basePath.length > 0)
    match = rewrite.source.exec(`/${[...basePath, ...candidate.segments].join("/")}`);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  rewrite.keys.forEach((key, index) => {
    const value = match[index + 1];
    if (value !== undefined) params[key] = value;
  });
  if (!rewrite.has.every((condition) => holds(condition, facts, params))) return undefined;
  if (rewrite.missing.some((condition) => holds(condition, facts, {}))) return undefined;
  const target = candidateOf(substitute(rewrite.destination, params));
  if (!rewrite.rawBasePath) return target;
  const lowerBase = basePath.map((part) => part.toLowerCase());
  const underBase = lowerBase.every((part, i) => target.lower[i] === part);
  return underBase ? candidateOf(target.segments.slice(basePath.length).join("/")) : target;
}

/**
 * The candidates plus every destination a rewrite would produce from them, following chains a few
 * steps. Deliberately generous: it does not model which phase Next.js would stop at (a file route
 * matched before `afterFiles`), so a destination is checked whenever its source matches.
 */
export function withRewriteTargets(
  candidates: readonly PathCandidate[],
  rewrites: readonly CompiledRewrite[],
  facts: RewriteRequestFacts,
  basePath: readonly string[] = [],
): readonly PathCandidate[] {
  const all = [...candidates];
  const seen = new Set(all.map((c) => c.lower.join("/")));
  let frontier: readonly PathCandidate[] = candidates;
  for (let round = 0; round < MAX_ROUNDS && frontier.length > 0; round++) {
    const next: PathCandidate[] = [];
    for (const candidate of frontier) {
      for (const rewrite of rewrites) {
        const applied = apply(rewrite, candidate, facts, basePath);
        if (!applied) continue;
        // A destination reached from a guessed locale reading is as much a guess (core/path.ts).
        const target: PathCandidate = candidate.localeGuess ? { ...applied, localeGuess: true } : applied;
        const key = target.lower.join("/");
        if (seen.has(key) || all.length >= MAX_CANDIDATES) continue;
        seen.add(key);
        all.push(target);
        next.push(target);
      }
    }
    frontier = next;
  }
  return all;
}
