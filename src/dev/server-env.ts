/** What the middleware in workerd is given by `containment dev`: a deployment's environment, and its normalization. */
import { dirname, resolve } from "node:path";
import { bundleProject } from "./bundle.js";
import type { EdgeConfigServer } from "./edge-config-server.js";
import { readNextProject } from "./next-project.js";
import type { DevServerOptions } from "./server-options.js";

/** The project's middleware with its Next.js config applied: NextRequest, basePath, withContainment's table. */
export async function projectBundle(entry: string, env: Record<string, string>) {
  const next = await readNextProject(dirname(resolve(entry)));
  const bundled = await bundleProject({
    entry,
    env: { ...next.env, ...env },
    ...(next.hasNext ? { nextConfig: next.nextConfig } : {}),
  });
  return { ...bundled, upstreamRunsMiddleware: next.hasNext };
}

/** The secrets one `containment dev` run makes up: the report secret and the pseudonym key. */
export interface DevSecrets {
  readonly reportSecret: string;
  readonly pseudonymKey: string;
}

/**
 * What the project's middleware reads from `process.env` at setup: the variables a deployment would
 * hold (each rule's `secretEnv`, `--pass-env`; never the whole shell), then the stand-ins' addresses.
 */
export function projectEnv(
  ec: EdgeConfigServer,
  redis: { url: string; token: string } | "memory",
  secrets: DevSecrets,
  passed: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = { ...passed, NODE_ENV: "development" };
  env.EDGE_CONFIG = ec.connectionString;
  env.CONTAINMENT_REPORT_SECRET = secrets.reportSecret;
  env.CONTAINMENT_SALT = secrets.pseudonymKey;
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
export function normalizeOf(options: DevServerOptions): Record<string, unknown> {
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
export function passedEnv(
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
