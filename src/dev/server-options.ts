/** `containment dev`'s options, checked up front: a bad flag is one line naming it, before anything starts. */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { packageRoot } from "../ops/package-root.js";
import { configError } from "../ops/rules-file.js";

export interface DevServerOptions {
  /** Front server port; 0 picks a free one. Default 3000. */
  port?: number;
  /** Default 127.0.0.1: the dev server holds fake secrets and is nobody's production. */
  host?: string;
  /** Rules file; default the project's containment.rules.json in project mode, else the package's rules/default.json. */
  rules?: string;
  /**
   * Project mode: the user's own middleware.ts / proxy.ts, bundled and run instead of the package's
   * (so its options are what runs); `upstream` is then the project's `next dev`.
   */
  project?: { entry: string };
  /** Port of the Edge Config stand-in (0: any free port), so EDGE_CONFIG can be set once in .env.local. */
  edgeConfigPort?: number;
  /**
   * Port of the dashboard on 127.0.0.1 (with --redis), an origin apart from the app the firewall
   * proxies; default 0: any free port (the banner prints it).
   */
  dashboardPort?: number;
  /** Origin behind the firewall; default the built-in demo origin. */
  upstream?: string;
  /** `redis://…` of a real Redis, reached through the local Upstash bridge; default an in-memory store. */
  redis?: string;
  /** Each Upstash bridge request's service time in ms (see UpstashBridgeOptions.onServed). */
  onRedisServed?: (ms: number) => void;
  /** How long the firewall trusts Edge Config's answer; default 200 ms so a file edit applies within 1 s. */
  refreshMs?: number;
  /**
   * Directory whose `.containment/dev.json` records the endpoints for `containment … --local`;
   * default the current directory; `false` writes nothing.
   */
  endpointsDir?: string | false;
  /** Where progress and rule reload messages go; default console.log. */
  log?: (line: string) => void;
  /** The app's Next.js basePath, as in a deployment's `normalize.basePath`. */
  basePath?: string;
  /** The app's i18n locales, as in a deployment's `normalize.locales`. */
  locales?: readonly string[];
  /**
   * Environment variables passed into workerd, as a deployment's environment: every `secretEnv`
   * named by a tenant-binding rule of the rules file is passed automatically; list others here.
   */
  passEnv?: readonly string[];
  /** Where passed variables are read from; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The rules file `containment dev` serves in a project unless --rules names another. */
const PROJECT_RULES_FILE = "containment.rules.json";

/** What startDevServer works from once the options passed their checks. */
export interface CheckedDevOptions {
  log: (line: string) => void;
  port: number;
  rulesFile: string;
  edgeConfigPort: number;
  dashboardPort: number;
  upstream: string | undefined;
  redis: string | undefined;
}

function checkUrl(flag: string, text: string, protocols: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw configError(`${flag} must be a URL like ${protocols[0]}//host:port, got ${JSON.stringify(text)}`);
  }
  if (!protocols.includes(url.protocol))
    throw configError(`${flag} must be a ${protocols.join(" or ")} URL, got ${JSON.stringify(text)}`);
  return text;
}

const BASE_PATH = /^(\/[\w.~-]+)+$/;
const LOCALE = /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/;

function checkPort(flag: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 65_535)
    throw configError(`${flag} must be 0-65535, got ${String(value)}`);
  return value;
}

/** Throws ERR_CONFIG with one line saying what to change. */
export function checkDevOptions(options: DevServerOptions): CheckedDevOptions {
  const port = checkPort("--port", options.port ?? 3000);
  if (options.basePath !== undefined && !BASE_PATH.test(options.basePath))
    throw configError(
      `--base-path must look like /docs (a leading /, no trailing /), got ${JSON.stringify(options.basePath)}`,
    );
  for (const locale of options.locales ?? [])
    if (!LOCALE.test(locale))
      throw configError(`--locales must list locales like en,de-AT; ${JSON.stringify(locale)} is not one`);
  return {
    log: options.log ?? ((line: string) => console.log(line)),
    port,
    rulesFile: resolve(options.rules ?? defaultRulesFile(options.project)),
    edgeConfigPort: checkPort("--edge-config-port", options.edgeConfigPort ?? 0),
    dashboardPort: checkPort("--dashboard-port", options.dashboardPort ?? 0),
    upstream:
      options.upstream === undefined
        ? undefined
        : checkUrl("--upstream", options.upstream, ["http:", "https:"]),
    redis:
      options.redis === undefined ? undefined : checkUrl("--redis", options.redis, ["redis:", "rediss:"]),
  };
}

/** A project's rules live next to its middleware; the package's demo rules are for the package itself. */
function defaultRulesFile(project: DevServerOptions["project"]): string {
  if (!project) return join(packageRoot(), "rules", "default.json");
  const file = join(dirname(resolve(project.entry)), PROJECT_RULES_FILE);
  if (!existsSync(file))
    throw configError(
      `no ${PROJECT_RULES_FILE} in ${dirname(resolve(project.entry))}: create it (start from node_modules/edge-containment/rules/default.json) or pass --rules <file>`,
    );
  return file;
}
