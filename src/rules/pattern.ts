/**
 * Path patterns: `/api/:tenant/export/**`. Segments are literal (matched case-insensitively), `:name`
 * (one segment, captured), `*` (one segment) or a final `**` (zero or more segments).
 */
export type PatternSegment =
  | { type: "literal"; value: string }
  | { type: "param"; name: string }
  | { type: "any" }
  | { type: "rest" };

const MAX_PATTERN_SEGMENTS = 32;
const PARAM = /^:[A-Za-z_][\w]{0,31}$/;

/**
 * Parsed patterns by text: validation and compile parse every pattern of a document, many rules
 * share a route, and a new document mostly repeats the last one's. Results are shared (typed
 * readonly, not frozen: freezing each segment cost more than parsing it); bounded, cleared when full.
 */
const parsedPatterns = new Map<string, readonly PatternSegment[] | string>();
const MAX_CACHED_PATTERNS = 20_000;

/** Empties the memo: benchmarks time a cold isolate's validation with it (bench/lib/eval-size.ts). */
export function forgetParsedPatterns(): void {
  parsedPatterns.clear();
}

/** A `path` as a list of patterns: rules take one pattern or several. */
export function patternList(path: string | readonly string[]): readonly string[] {
  return typeof path === "string" ? [path] : path;
}

/** Parses a pattern; the error text says what is wrong, for a JSON-path-addressed validation issue. */
export function parsePattern(pattern: string): readonly PatternSegment[] | string {
  const known = parsedPatterns.get(pattern);
  if (known !== undefined) return known;
  const parsed = parseFresh(pattern);
  if (parsedPatterns.size >= MAX_CACHED_PATTERNS) parsedPatterns.clear();
  parsedPatterns.set(pattern, parsed);
  return parsed;
}

function parseFresh(pattern: string): PatternSegment[] | string {
  if (!pattern.startsWith("/")) return "must start with /";
  const parts = pattern.split("/").slice(1);
  if (parts.length === 1 && parts[0] === "") return [];
  if (parts.length > MAX_PATTERN_SEGMENTS) return `has more than ${MAX_PATTERN_SEGMENTS} segments`;
  const out: PatternSegment[] = [];
  const names = new Set<string>();
  for (const [index, part] of parts.entries()) {
    if (part === "") return "has an empty segment (use one / between segments, none at the end)";
    if (part === "**") {
      if (index !== parts.length - 1) return "may use ** only as its last segment";
      out.push({ type: "rest" });
    } else if (part === "*") {
      out.push({ type: "any" });
    } else if (part.startsWith(":")) {
      if (!PARAM.test(part)) return `has an invalid parameter ${JSON.stringify(part)}`;
      const name = part.slice(1);
      if (names.has(name)) return `repeats the parameter :${name}`;
      names.add(name);
      out.push({ type: "param", name });
      // biome-ignore lint/suspicious/noControlCharactersInRegex: patterns may not contain them
    } else if (part === "." || part === ".." || /[*%\\;?#\u0000-\u0020]/.test(part)) {
      return `has a segment ${JSON.stringify(part)} that no normalized path can contain`;
    } else {
      out.push({ type: "literal", value: part.toLowerCase() });
    }
  }
  return out;
}

/**
 * Matches one parsed pattern against one path candidate, returning the captured parameters (in the
 * original case). The trie does this for all rules at once; this is for single patterns such as a
 * document-level tenancy pattern.
 */
export function matchPattern(
  pattern: readonly PatternSegment[],
  segments: readonly string[],
  lower: readonly string[],
): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const [index, part] of pattern.entries()) {
    if (part.type === "rest") return params;
    const segment = segments[index];
    if (segment === undefined) return undefined;
    if (part.type === "literal" && lower[index] !== part.value) return undefined;
    if (part.type === "param") params[part.name] = segment;
  }
  return segments.length === pattern.length ? params : undefined;
}
