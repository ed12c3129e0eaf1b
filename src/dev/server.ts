/**
 * `containment dev`: the production code path on localhost. The middleware bundle (bundle.ts, the
 * same build the tests run) runs in workerd; its rules come through the real `@vercel/edge-config`
 * client from a local Edge Config stand-in that mirrors the rules file; passed requests go to an
 * upstream (the built-in demo origin unless `--upstream` names one).
 *
 *   client → front server (sets x-real-ip) → workerd: middleware.ts → upstream
 *                                                 ↑ rules: Edge Config stand-in ← rules file (watched)
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { RulesInvalid } from "../core/errors.js";
import { checkDocument } from "../rules/check.js";
import { bundleEdge, bundleProject, type EdgeBundleOutput } from "./bundle.js";
import { type DevDashboard, devDashboard, interceptDashboard } from "./dashboard.js";
import { startDemoOrigin } from "./demo-origin.js";
import { writeDevEndpoints } from "./dev-endpoints.js";
import { type EdgeConfigServer, startEdgeConfigServer } from "./edge-config-server.js";
import { COMPATIBILITY_DATE, type EdgeRuntime, startEdgeRuntime } from "./edge-runtime.js";
import { startFrontServer } from "./front-server.js";
import { readNextProject } from "./next-project.js";
import { packageRoot } from "./package-root.js";
import { configError, formatIssues, readRulesFile } from "./rules-file.js";
import { watchRulesFile } from "./rules-file-watch.js";
import { startUpstashBridge } from "./upstash-bridge.js";

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

export interface DevServer {
  readonly urls: {
    firewall: string;
    upstream: string;
    edgeConfig: string;
    /** Vercel-API-style write endpoint: PATCH `{ items: [{ operation, key, value }] }`. */
    writeApi: string;
    /** The dashboard under `/_containment/` of the firewall's address, with its one-time token (needs --redis). */
    dashboard?: string;
  };
  readonly apiToken: string;
  readonly edgeConfigConnection: string;
  readonly rulesFile: string;
  /** The project's middleware file in project mode. */
  readonly projectEntry?: string;
  readonly upstreamIsDemo: boolean;
  /** "memory" or the Redis URL behind the bridge. */
  readonly store: string;
  readonly bundleGzipBytes: number;
  readonly compatibilityDate: string;
  close(): Promise<void>;
}

const RULES_KEY = "containment";
/** The rules file `containment dev` serves in a project unless --rules names another. */
export const PROJECT_RULES_FILE = "containment.rules.json";

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

/**
 * Starts everything; on any failure closes what it started and rethrows (ERR_CONFIG for bad options).
 *
 * @example
 * const dev = await startDevServer({ port: 3000 });
 * console.log(dev.urls.firewall);
 * await dev.close();
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const log = options.log ?? ((line: string) => console.log(line));
  const port = options.port ?? 3000;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw configError(`--port must be 0-65535, got ${String(options.port)}`);
  if (options.basePath !== undefined && !/^(\/[\w.~-]+)+$/.test(options.basePath))
    throw configError(
      `--base-path must look like /docs (a leading /, no trailing /), got ${JSON.stringify(options.basePath)}`,
    );
  for (const locale of options.locales ?? [])
    if (!/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(locale))
      throw configError(`--locales must list locales like en,de-AT; ${JSON.stringify(locale)} is not one`);
  const rulesFile = resolve(options.rules ?? defaultRulesFile(options.project));
  const ecPort = options.edgeConfigPort ?? 0;
  if (!Number.isInteger(ecPort) || ecPort < 0 || ecPort > 65_535)
    throw configError(`--edge-config-port must be 0-65535, got ${String(options.edgeConfigPort)}`);
  const upstreamFlag =
    options.upstream === undefined
      ? undefined
      : checkUrl("--upstream", options.upstream, ["http:", "https:"]);
  const redisFlag =
    options.redis === undefined ? undefined : checkUrl("--redis", options.redis, ["redis:", "rediss:"]);
  const initialRules = readRulesFile(rulesFile);

  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) await Promise.resolve(closer()).catch(() => {});
  };
  try {
    // The port first: a taken port is the likeliest mistake and should not wait for a bundle build.
    let runtimeReady: (runtime: EdgeRuntime) => void = () => {};
    let runtimeFailed: (error: unknown) => void = () => {};
    const runtime = new Promise<EdgeRuntime>((res, rej) => {
      runtimeReady = res;
      runtimeFailed = rej;
    });
    runtime.catch(() => {});
    let dashboard: DevDashboard | undefined;
    const front = await startFrontServer({
      host: options.host ?? "127.0.0.1",
      port,
      runtime,
      intercept: (req, res) => interceptDashboard(dashboard, req, res),
    });
    closers.push(front.close);

    const ec = await startEdgeConfigServer({ items: { [RULES_KEY]: initialRules }, port: ecPort }).catch(
      (error: unknown) => {
        throw (error as { code?: string }).code === "EADDRINUSE"
          ? configError(
              `--edge-config-port ${ecPort} is in use: stop what listens there or pick another port`,
            )
          : error;
      },
    );
    closers.push(ec.close);
    let watching = false;
    const watcher = watchRulesFile(validatingWriter(ec, rulesFile), rulesFile, RULES_KEY, {
      onError: (error) => log(error.message),
      // The first load happens inside watchRulesFile and is not news.
      onReload: () => watching && log(`rules reloaded from ${rulesFile}`),
    });
    watching = true;
    closers.push(() => watcher.close());

    let upstream = upstreamFlag;
    if (upstream === undefined) {
      const demo = await startDemoOrigin();
      closers.push(demo.close);
      upstream = demo.url;
    }

    let redis: { url: string; token: string } | "memory" = "memory";
    if (redisFlag !== undefined) {
      const bridge = await startUpstashBridge({
        redisUrl: redisFlag,
        ...(options.onRedisServed ? { onServed: options.onRedisServed } : {}),
      });
      closers.push(bridge.close);
      redis = { url: bridge.url, token: bridge.token };
    }

    // The isolates MAC their enforcement reports with it; `--local --wait` verifies them with it.
    const reportSecret = randomBytes(24).toString("base64url");
    const worker: EdgeBundleOutput = options.project
      ? (
          await projectBundle(
            options.project.entry,
            projectEnv(ec, redis, reportSecret, passedEnv(initialRules, options, log)),
          )
        ).worker
      : (await bundleEdge({ write: false })).worker;
    try {
      const started = await startEdgeRuntime({
        worker,
        bindings: {
          EDGE_CONFIG: ec.connectionString,
          UPSTREAM_URL: upstream,
          ...passedEnv(initialRules, options, log),
          CONTAINMENT_OPTIONS: JSON.stringify({
            refreshMs: options.refreshMs ?? 200,
            redis,
            normalize: normalizeOf(options),
          }),
          CONTAINMENT_REPORT_SECRET: reportSecret,
        },
      });
      closers.push(started.close);
      runtimeReady(started);
    } catch (error) {
      runtimeFailed(error);
      throw error;
    }

    if (options.endpointsDir !== false) {
      const written = writeDevEndpoints(options.endpointsDir ?? process.cwd(), {
        edgeConfig: { id: ec.id, readUrl: ec.connectionString, apiBase: ec.apiUrl, token: ec.apiToken },
        ...(redis === "memory" ? {} : { redis }),
        prefix: "containment:",
        reportSecret,
      });
      closers.push(written.remove);
    }

    if (redis !== "memory") dashboard = devDashboard({ front: front.url, ec, redis, reportSecret });

    return {
      urls: {
        ...(dashboard ? { dashboard: dashboard.url } : {}),
        firewall: front.url,
        upstream,
        edgeConfig: `${ec.url}/${ec.id}`,
        writeApi: `${ec.apiUrl}/v1/edge-config/${ec.id}/items`,
      },
      apiToken: ec.apiToken,
      edgeConfigConnection: ec.connectionString,
      rulesFile,
      ...(options.project ? { projectEntry: resolve(options.project.entry) } : {}),
      upstreamIsDemo: upstreamFlag === undefined,
      store: redisFlag ?? "memory",
      bundleGzipBytes: worker.gzipBytes,
      compatibilityDate: COMPATIBILITY_DATE,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
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

/** The project's middleware with its Next.js config applied: NextRequest, basePath, withContainment's table. */
async function projectBundle(entry: string, env: Record<string, string>) {
  const next = await readNextProject(dirname(resolve(entry)));
  return bundleProject({
    entry,
    env: { ...next.env, ...env },
    ...(next.hasNext ? { nextConfig: next.nextConfig } : {}),
  });
}

/**
 * What the project's middleware reads from `process.env` at setup: the variables a deployment would
 * hold (each rule's `secretEnv`, `--pass-env`; never the whole shell), then the stand-ins' addresses.
 */
function projectEnv(
  ec: EdgeConfigServer,
  redis: { url: string; token: string } | "memory",
  reportSecret: string,
  passed: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = { ...passed, NODE_ENV: "development" };
  env.EDGE_CONFIG = ec.connectionString;
  env.CONTAINMENT_REPORT_SECRET = reportSecret;
  if (redis !== "memory") {
    env.UPSTASH_REDIS_REST_URL = redis.url;
    env.UPSTASH_REDIS_REST_TOKEN = redis.token;
  }
  return env;
}

/**
 * The normalization a deployment would have: the front server overwrites x-real-ip from the
 * socket, as Vercel's proxy does, so break-glass may trust it; basePath and locales as given.
 */
function normalizeOf(options: DevServerOptions): Record<string, unknown> {
  return {
    clientIp: { trusted: true },
    ...(options.basePath === undefined ? {} : { basePath: options.basePath }),
    ...(options.locales === undefined || options.locales.length === 0 ? {} : { locales: options.locales }),
  };
}

/** Every `token.secretEnv` a rule of the document names. */
function secretNames(document: unknown): string[] {
  const rules = (document as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules)) return [];
  const names: string[] = [];
  for (const rule of rules) {
    const name = (rule as { token?: { secretEnv?: unknown } } | null)?.token?.secretEnv;
    if (typeof name === "string") names.push(name);
  }
  return names;
}

/**
 * The variables workerd gets, as a deployment's environment would hold them. A named variable that
 * is not set is reported (its rules fail closed with `secret-missing`, as they would deployed).
 */
function passedEnv(
  document: unknown,
  options: DevServerOptions,
  log: (line: string) => void,
): Record<string, string> {
  const env = options.env ?? process.env;
  const out: Record<string, string> = {};
  for (const name of new Set([...secretNames(document), ...(options.passEnv ?? [])])) {
    const value = env[name];
    if (value === undefined || value === "")
      log(`${name} is not set: rules that need it fail closed (secret-missing)`);
    else out[name] = value;
  }
  return out;
}

/**
 * Lets only valid documents into the stand-in, so an edit with a mistake prints the JSON path of each
 * fault and the last good rules keep being served (watchRulesFile reports a throwing write and moves on).
 */
function validatingWriter(ec: EdgeConfigServer, file: string): Pick<EdgeConfigServer, "setItem"> {
  return {
    setItem(key, value) {
      const result = checkDocument(value);
      if (!result.ok) {
        const message = `${file} is not a valid rules document; still enforcing the last good rules:\n${formatIssues(result.issues)}`;
        throw new RulesInvalid(result.issues, message);
      }
      ec.setItem(key, value);
    },
  };
}
