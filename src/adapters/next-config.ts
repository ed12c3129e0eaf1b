/**
 * `withContainment(nextConfig)`: the next.config wrapper (the ecosystem's convention, like
 * `withSentryConfig`). Next.js runs middleware before rewrites, so the firewall must know the
 * rewrite table to check where a request will really land. The wrapper resolves `rewrites()` at
 * build time and hands the table (and the i18n locales) to the adapter through `env`, which Next
 * inlines into the middleware / proxy bundle; `createNextMiddleware` reads it with no option to set.
 *
 * Pure code with no Node imports, so it is safe in the `edge-containment/next` entry too.
 */
import { ConfigInvalid } from "../core/errors.js";
import { compileRewrites, type RewritesOption } from "../core/rewrites.js";
import { type BuildContext, checkBuild, type MatcherCheckOptions } from "./next-build-check.js";

/** The env name Next inlines at build time (a literal `process.env.<name>` read in next.ts). */
export const NEXT_BUILD_ENV = "EDGE_CONTAINMENT_NEXT";

/** What the wrapper hands over; versioned so an older adapter never misreads a newer table. */
export interface NextBuildTable {
  v: 1;
  basePath: string;
  locales: string[];
  rewrites: RewritesOption;
}

/** The parts of a Next.js config the wrapper reads or writes; everything else passes through as is. */
export interface NextConfigLike {
  basePath?: string;
  i18n?: { locales?: readonly string[] } | null;
  env?: Record<string, string | undefined>;
  rewrites?: () => Promise<RewritesOption> | RewritesOption;
  compiler?: { runAfterProductionCompile?: (context: BuildContext) => unknown } & Record<string, unknown>;
}

/** Options of `withContainment` (the second argument). */
export interface WithContainmentOptions {
  /** The check that the middleware's `config.matcher` does not skip a rule's path (after `next build`). */
  matcherCheck?: MatcherCheckOptions;
  /**
   * The app's locales when an i18n library keeps them out of next.config (next-intl:
   * `routing.locales`). Without them a locale-shaped first segment is still read without it for
   * kill switches, rate limits and headers rules; named here, tenant binding reads it so too
   * (docs/rules.md, "Locale prefixes").
   */
  locales?: readonly string[];
}

/** A locale as it appears in a path: letters, digits, `-` and `_`. */
const LOCALE_TEXT = /^[A-Za-z0-9_-]{1,35}$/;

function checkedLocales(locales: unknown): string[] {
  if (locales === undefined) return [];
  if (!Array.isArray(locales))
    throw new ConfigInvalid(
      "withContainment options.locales must be a list of locales, e.g. routing.locales",
    );
  return locales.map((locale, index) => {
    if (typeof locale !== "string" || !LOCALE_TEXT.test(locale))
      throw new ConfigInvalid(
        `withContainment options.locales[${index}] must be a locale like "en" or "pt-BR"; ${JSON.stringify(locale)} is not one`,
      );
    return locale;
  });
}

type ConfigFunction<C> = (phase: string, context: { defaultConfig: unknown }) => C | Promise<C>;

/**
 * Chains the matcher check after any hook the config already has: paths the matcher skips never
 * reach the firewall, so a rule (or a kill switch pushed later) there would silently never apply.
 */
function withMatcherCheck<C extends NextConfigLike>(config: C, options: MatcherCheckOptions = {}): C {
  const previous = config.compiler?.runAfterProductionCompile;
  const basePath = config.basePath ?? "";
  return {
    ...config,
    compiler: {
      ...config.compiler,
      async runAfterProductionCompile(context: BuildContext) {
        await previous?.(context);
        checkBuild(context, basePath, options);
      },
    },
  };
}

async function withTable<C extends NextConfigLike>(config: C, locales: readonly string[]): Promise<C> {
  const rewrites = config.rewrites ? await config.rewrites() : [];
  // Fail the build, not the first request: a source the adapter cannot read is a hole in the firewall.
  compileRewrites(rewrites);
  const table: NextBuildTable = {
    v: 1,
    basePath: config.basePath ?? "",
    locales: [...new Set([...(config.i18n?.locales ?? []), ...locales])],
    rewrites,
  };
  return { ...config, env: { ...config.env, [NEXT_BUILD_ENV]: JSON.stringify(table) } };
}

/**
 * Wraps a Next.js config (an object or a `(phase, context) => config` function) so the firewall
 * sees `basePath`, i18n locales and every rewrite (`beforeFiles`, `afterFiles`, `fallback`, with
 * their `has`/`missing` conditions): a rule on a rewrite's destination also blocks its sources.
 * `rewrites()` is called once here and once by Next.js, so it should not have side effects.
 * After `next build` compiled the middleware, it checks every rule path against the middleware's
 * `config.matcher`: a path a blocking rule covers that the matcher skips fails the build
 * (`options.matcherCheck`; `onSkippedPaths: "warn"` only prints it). `options.locales` names an
 * i18n library's locales that next.config does not hold (next-intl's `routing.locales`).
 *
 * @example
 * // next.config.ts
 * import { withContainment } from "edge-containment/next";
 * export default withContainment({ basePath: "/portal", rewrites: async () => [...] });
 */
export function withContainment<C extends NextConfigLike>(
  config: C | ConfigFunction<C>,
  options: WithContainmentOptions = {},
): ConfigFunction<C> {
  const locales = checkedLocales(options.locales);
  return async (phase, context) => {
    const resolved = typeof config === "function" ? await config(phase, context) : config;
    return withMatcherCheck(await withTable(resolved, locales), options.matcherCheck);
  };
}

/**
 * Parses the table Next inlined. A malformed one fails the middleware's setup with one clear line:
 * it only happens when something other than `withContainment` sets the variable.
 */
export function parseBuildTable(text: string | undefined, name = NEXT_BUILD_ENV): NextBuildTable | undefined {
  if (!text) return undefined;
  let table: Partial<NextBuildTable>;
  try {
    table = JSON.parse(text) as Partial<NextBuildTable>;
  } catch {
    throw new ConfigInvalid(`${name} is not JSON; only withContainment() in next.config should set it`);
  }
  if (table === null || typeof table !== "object" || table.v !== 1)
    throw new ConfigInvalid(`${name} is not a v1 table; rebuild with the installed edge-containment`);
  return {
    v: 1,
    basePath: typeof table.basePath === "string" ? table.basePath : "",
    locales: Array.isArray(table.locales) ? table.locales.filter((l) => typeof l === "string") : [],
    rewrites: table.rewrites ?? [],
  };
}
