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
import { type Stats, unwatchFile, watchFile } from "node:fs";
import { relative, resolve } from "node:path";
import { rulesetDigest } from "../core/digest.js";
import { RulesInvalid } from "../core/errors.js";
import { DEFAULT_REDIS_PREFIX } from "../model/defaults.js";
import { devRulesDescription, RULES_ITEM } from "../model/edge-config-items.js";
import type { Json } from "../model/json.js";
import { configError, formatIssues, readRulesFile } from "../ops/rules-file.js";
import { checkDocument } from "../rules/check.js";
import { bundleEdge, type EdgeBundleOutput } from "./bundle.js";
import { type DevDashboard, startDevDashboard } from "./dashboard.js";
import { startDemoOrigin } from "./demo-origin.js";
import { writeDevEndpoints } from "./dev-endpoints.js";
import { type EdgeConfigServer, startEdgeConfigServer } from "./edge-config-server.js";
import { COMPATIBILITY_DATE, type EdgeRuntime, startEdgeRuntime } from "./edge-runtime.js";
import { startFrontServer } from "./front-server.js";
import { watchRulesFile } from "./rules-file-watch.js";
import { type DevSecrets, normalizeOf, passedEnv, projectBundle, projectEnv } from "./server-env.js";
import { type CheckedDevOptions, checkDevOptions, type DevServerOptions } from "./server-options.js";
import { startUpstashBridge } from "./upstash-bridge.js";

export interface DevServer {
  readonly urls: {
    firewall: string;
    upstream: string;
    edgeConfig: string;
    /** Vercel-API-style write endpoint: PATCH `{ items: [{ operation, key, value }] }`. */
    writeApi: string;
    /** The dashboard on its own port (origin), with its one-time token (needs --redis). */
    dashboard?: string;
  };
  readonly apiToken: string;
  readonly edgeConfigConnection: string;
  readonly rulesFile: string;
  /** The project's middleware file in project mode. */
  readonly projectEntry?: string;
  /** Project mode in a Next.js project: the upstream (`next dev`) runs the same middleware again. */
  readonly upstreamRunsMiddleware?: boolean;
  readonly upstreamIsDemo: boolean;
  /** "memory" or the Redis URL behind the bridge. */
  readonly store: string;
  readonly bundleGzipBytes: number;
  readonly compatibilityDate: string;
  close(): Promise<void>;
}

type Closers = Array<() => Promise<void> | void>;
type DevRedis = { url: string; token: string } | "memory";

/**
 * Starts everything; on any failure closes what it started and rethrows (ERR_CONFIG for bad options).
 *
 * @example
 * const dev = await startDevServer({ port: 3000 });
 * console.log(dev.urls.firewall);
 * await dev.close();
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const checked = checkDevOptions(options);
  const initialRules = readRulesFile(checked.rulesFile);
  const closers: Closers = [];
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) await Promise.resolve(closer()).catch(() => {});
  };
  try {
    // The port first: a taken port is the likeliest mistake and should not wait for a bundle build.
    const runtime = deferred<EdgeRuntime>();
    let dashboard: DevDashboard | undefined;
    let current: Promise<EdgeRuntime> = runtime.promise;
    const front = await startFrontServer({
      host: options.host ?? "127.0.0.1",
      port: checked.port,
      runtime: () => current,
    });
    closers.push(front.close);
    const ec = await startRulesSource(checked, initialRules, closers);
    const upstream = checked.upstream ?? (await startDemo(closers));
    const redis = await startStore(checked, options, closers);
    // The isolates MAC their enforcement reports with it; `--local --wait` verifies them with it.
    const reportSecret = randomBytes(24).toString("base64url");
    const env = passedEnv(initialRules, options, checked.log);
    // Pseudonyms are keyed with a secret of this run, never with the stand-in's Redis token; a key
    // passed with --pass-env CONTAINMENT_SALT wins, so dev servers sharing one Redis share it too,
    // as the isolates of one deployment do (docs/recorded-format.md, "Privacy").
    const pseudonymKey = env.CONTAINMENT_SALT || randomBytes(24).toString("base64url");
    const secrets: DevSecrets = { reportSecret, pseudonymKey };
    const worker = await workerOf(options, ec, redis, secrets, env);
    const bindings = {
      EDGE_CONFIG: ec.connectionString,
      UPSTREAM_URL: upstream,
      ...env,
      CONTAINMENT_OPTIONS: JSON.stringify({
        refreshMs: options.refreshMs ?? 200,
        redis,
        normalize: normalizeOf(options),
      }),
      CONTAINMENT_REPORT_SECRET: reportSecret,
      CONTAINMENT_SALT: secrets.pseudonymKey,
    };
    await startWorkerd(worker.worker, bindings, runtime, closers);
    if (options.project && worker.inputs)
      closers.push(
        watchProject(worker.inputs, checked.log, async () => {
          const rebuilt = await workerOf(options, ec, redis, secrets, env);
          const started = await startEdgeRuntime({ worker: rebuilt.worker, bindings });
          const previous = current;
          current = Promise.resolve(started);
          closers.push(started.close);
          await (await previous).close();
          const entry = relative(process.cwd(), resolve(options.project?.entry ?? "")) || "the entry";
          checked.log(
            `${entry} changed: rebuilt (${(rebuilt.worker.gzipBytes / 1024).toFixed(1)} KB gzipped), now serving it`,
          );
        }),
      );
    if (options.endpointsDir !== false)
      closers.push(recordEndpoints(options.endpointsDir, ec, redis, secrets));
    if (redis !== "memory") {
      dashboard = await startDevDashboard({
        port: checked.dashboardPort,
        ec,
        redis,
        reportSecret,
        log: checked.log,
      });
      closers.push(dashboard.close);
    }
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
      rulesFile: checked.rulesFile,
      ...(options.project ? { projectEntry: resolve(options.project.entry) } : {}),
      ...(worker.upstreamRunsMiddleware ? { upstreamRunsMiddleware: true } : {}),
      upstreamIsDemo: checked.upstream === undefined,
      store: checked.redis ?? "memory",
      bundleGzipBytes: worker.worker.gzipBytes,
      compatibilityDate: COMPATIBILITY_DATE,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A promise the front server can hold before workerd exists; it never rejects unhandled. */
function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

async function startWorkerd(
  worker: EdgeBundleOutput,
  bindings: Record<string, string>,
  runtime: ReturnType<typeof deferred<EdgeRuntime>>,
  closers: Closers,
): Promise<void> {
  try {
    const started = await startEdgeRuntime({ worker, bindings });
    closers.push(started.close);
    runtime.resolve(started);
  } catch (error) {
    runtime.reject(error);
    throw error;
  }
}

/** The Edge Config stand-in serving the rules file, and the watcher that keeps it current. */
async function startRulesSource(
  checked: CheckedDevOptions,
  initialRules: Json,
  closers: Closers,
): Promise<EdgeConfigServer> {
  const port = checked.edgeConfigPort;
  const ec = await startEdgeConfigServer({ items: { [RULES_ITEM]: initialRules }, port }).catch(
    (error: unknown) => {
      throw (error as { code?: string }).code === "EADDRINUSE"
        ? configError(`--edge-config-port ${port} is in use: stop what listens there or pick another port`)
        : error;
    },
  );
  closers.push(ec.close);
  let watching = false;
  const watcher = watchRulesFile(validatingWriter(ec, checked.rulesFile), checked.rulesFile, RULES_ITEM, {
    onError: (error) => checked.log(error.message),
    // The first load happens inside watchRulesFile and is not news.
    onReload: () => watching && checked.log(`rules reloaded from ${checked.rulesFile}`),
  });
  watching = true;
  closers.push(() => watcher.close());
  return ec;
}

async function startDemo(closers: Closers): Promise<string> {
  const demo = await startDemoOrigin();
  closers.push(demo.close);
  return demo.url;
}

/** A real Redis behind the local Upstash bridge, or the in-memory store. */
async function startStore(
  checked: CheckedDevOptions,
  options: DevServerOptions,
  closers: Closers,
): Promise<DevRedis> {
  if (checked.redis === undefined) return "memory";
  const bridge = await startUpstashBridge({
    redisUrl: checked.redis,
    ...(options.onRedisServed ? { onServed: options.onRedisServed } : {}),
  });
  closers.push(bridge.close);
  return { url: bridge.url, token: bridge.token };
}

interface DevWorker {
  worker: EdgeBundleOutput;
  /** Project mode: the project's files the bundle was built from. */
  inputs?: string[];
  upstreamRunsMiddleware?: boolean;
}

/** The package's middleware bundle, or in project mode the project's own middleware. */
async function workerOf(
  options: DevServerOptions,
  ec: EdgeConfigServer,
  redis: DevRedis,
  secrets: DevSecrets,
  env: Record<string, string>,
): Promise<DevWorker> {
  if (!options.project) return { worker: (await bundleEdge({ write: false })).worker };
  return projectBundle(options.project.entry, projectEnv(ec, redis, secrets, env));
}

/**
 * Rebuilds when a file of the project's middleware bundle is saved, as `next dev` does: stat-polled
 * (fs.watch misses saves on some file systems), one rebuild at a time, and a failed one leaves the
 * last good bundle serving.
 */
function watchProject(inputs: readonly string[], log: (line: string) => void, rebuild: () => Promise<void>) {
  let running: Promise<void> | undefined;
  let again = false;
  const run = () => {
    if (running) {
      again = true;
      return;
    }
    running = rebuild()
      .catch((error: unknown) =>
        log(
          `middleware rebuild failed, still serving the last good build: ${(error as Error).message ?? error}`,
        ),
      )
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          run();
        }
      });
  };
  const onChange = (now: Stats, before: Stats) => {
    if (now.mtimeMs !== before.mtimeMs || now.size !== before.size) run();
  };
  for (const file of inputs) watchFile(file, { interval: 250 }, onChange);
  return async () => {
    for (const file of inputs) unwatchFile(file, onChange);
    await running;
  };
}

/** `.containment/dev.json`, which `containment … --local` reads; removed on close. */
function recordEndpoints(
  dir: string | undefined,
  ec: EdgeConfigServer,
  redis: DevRedis,
  secrets: DevSecrets,
): () => void {
  const written = writeDevEndpoints(dir ?? process.cwd(), {
    edgeConfig: { id: ec.id, readUrl: ec.connectionString, apiBase: ec.apiUrl, token: ec.apiToken },
    ...(redis === "memory" ? {} : { redis }),
    prefix: DEFAULT_REDIS_PREFIX,
    reportSecret: secrets.reportSecret,
    pseudonymKey: secrets.pseudonymKey,
  });
  return written.remove;
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
      // Marked as the dev server's own write, so `containment status --local` does not alarm on it.
      ec.setItem(key, value, devRulesDescription(file, rulesetDigest(value)));
    },
  };
}
