/**
 * Which rule paths the middleware's `config.matcher` skips. Next.js never runs middleware (or
 * proxy.ts) for a path its matcher leaves out, so a rule on such a path is silently dead, and a kill
 * switch pushed there during an incident never applies. The check runs on the matchers Next itself
 * compiled (the build's manifests hold them as regular expressions), so it is Next's own reading of
 * the matcher, not a re-implementation of its path syntax.
 *
 * Pure code with no Node imports: the file reading is next-build-check.ts.
 */
import { parsePattern } from "../rules/pattern.js";

/** One compiled matcher as Next writes it to middleware-manifest.json / functions-config-manifest.json. */
export interface CompiledMatcher {
  regexp: string;
  originalSource?: string;
  has?: unknown[];
  missing?: unknown[];
}

/** A rule whose path the middleware never sees. */
export interface MatcherGap {
  /** `rule <id>` or `kill switch <id>`, and where it came from. */
  rule: string;
  pattern: string;
  /** A concrete path (with basePath) that no matcher admits. */
  probe: string;
  /** The rule blocks requests (all but `headers`): its gap is a hole the build refuses. */
  blocking: boolean;
}

export interface MatcherCheck {
  gaps: MatcherGap[];
  /** Generic paths skipped: kill switches pushed there later would not apply either. */
  skippedProbes: string[];
  /** Matchers with `has`/`missing` conditions: requests that fail the condition skip the firewall. */
  conditional: string[];
}

/** Paths any app may need to contain during an incident; a catch-all matcher admits them all. */
const GENERIC_PROBES = ["/containment-probe", "/api/containment-probe", "/a/b/c"];

/** One concrete path per pattern (`:tenant` and `*` become a segment, `**` one or two more). */
export function probesOf(pattern: string): string[] {
  const segments = parsePattern(pattern);
  if (typeof segments === "string") return [];
  const parts = segments.map((s) => (s.type === "literal" ? s.value : s.type === "rest" ? "" : "x"));
  const hasRest = segments.at(-1)?.type === "rest";
  const base = hasRest ? parts.slice(0, -1) : parts;
  const path = (extra: string[]) => `/${[...base, ...extra].join("/")}`;
  return hasRest ? [path(["x"]), path(["x", "y"])] : [path([])];
}

interface RuleLike {
  id?: unknown;
  kind?: unknown;
  match?: { path?: unknown };
}

/** Every `match.path` of a rules document (rules and static kill switches), tolerant of a bad one. */
export interface RulePattern {
  rule: string;
  pattern: string;
  /** Kill switches, tenant binding and rate limits block; a headers rule only adds headers. */
  blocking: boolean;
}

export function rulePatterns(document: unknown): RulePattern[] {
  const rules = (document as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules)) return [];
  const out: RulePattern[] = [];
  for (const rule of rules as RuleLike[]) {
    const path = rule?.match?.path;
    const patterns = typeof path === "string" ? [path] : Array.isArray(path) ? path : [];
    const label = `${rule.kind === "kill-switch" ? "kill switch" : "rule"} ${String(rule.id)}`;
    const blocking = rule.kind !== "headers";
    for (const pattern of patterns)
      if (typeof pattern === "string") out.push({ rule: label, pattern, blocking });
  }
  return out;
}

function withBase(basePath: string, path: string): string {
  return basePath === "" ? path : path === "/" ? basePath : `${basePath}${path}`;
}

/** Checks the rules' paths and a few generic paths against the compiled matchers. */
export function checkMatchers(
  matchers: readonly CompiledMatcher[],
  patterns: ReadonlyArray<RulePattern>,
  basePath = "",
): MatcherCheck {
  const compiled = matchers.map((m) => new RegExp(m.regexp));
  const admitted = (path: string) => compiled.some((re) => re.test(path));
  const gaps: MatcherGap[] = [];
  for (const { rule, pattern, blocking } of patterns) {
    const probe = probesOf(pattern)
      .map((p) => withBase(basePath, p))
      .find((p) => !admitted(p));
    if (probe !== undefined) gaps.push({ rule, pattern, probe, blocking });
  }
  const skippedProbes = GENERIC_PROBES.map((p) => withBase(basePath, p)).filter((p) => !admitted(p));
  const conditional = matchers
    .filter((m) => (m.has?.length ?? 0) > 0 || (m.missing?.length ?? 0) > 0)
    .map((m) => m.originalSource ?? m.regexp);
  return { gaps, skippedProbes, conditional };
}

/** The one-line fix every finding names. */
export const MATCHER_FIX = 'export `config = { matcher: "/:path*" }` (or no matcher at all)';

/** One finding for the build's output; `hole`: a blocking rule or a kill switch would not apply. */
export interface MatcherFinding {
  line: string;
  hole: boolean;
}

/** One finding per gap, for the build's output. Empty when the matcher admits everything checked. */
export function describeCheck(check: MatcherCheck, where: string): MatcherFinding[] {
  const findings: MatcherFinding[] = check.gaps.map((gap) => ({
    line: `edge-containment: ${where} skips ${gap.probe}, so ${gap.rule} (${gap.pattern}) never applies; ${MATCHER_FIX}`,
    hole: gap.blocking,
  }));
  if (check.skippedProbes.length > 0)
    findings.push({
      line: `edge-containment: ${where} skips ${check.skippedProbes.join(", ")}: a kill switch pushed for such a path during an incident would never apply; ${MATCHER_FIX}`,
      hole: true,
    });
  for (const source of check.conditional)
    findings.push({
      line: `edge-containment: ${where} has a has/missing condition (${source}): requests that do not meet it skip the firewall`,
      hole: false,
    });
  return findings;
}
