/** What the middleware in workerd is given by `containment dev`: a deployment's environment, and its normalization. */
import { dirname, resolve } from "node:path";
import { DEFAULT_DECOY_KEY_ENV } from "../rules/detector/decoy.js";
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

/**
 * Every secret a rule of the document names: tenant binding's `token.secretEnv`, and a honeytoken
 * detector's decoy key (`decoyKeyEnv`, default CONTAINMENT_DECOY_KEY; docs/detection.md).
 */
function secretNames(document: unknown): string[] {
  const rules = (document as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules)) return [];
  const names: string[] = [];
  for (const rule of rules) {
    const r = rule as { token?: { secretEnv?: unknown }; detect?: unknown; decoyKeyEnv?: unknown } | null;
    const name = r?.token?.secretEnv;
    if (typeof name === "string") names.push(name);
    if (r?.detect === "honeytoken")
      names.push(typeof r.decoyKeyEnv === "string" ? r.decoyKeyEnv : DEFAULT_DECOY_KEY_ENV);
  }
  return names;
}

/**
 * Where detections alert (docs/detection.md, "Alerts"): passed when the shell sets them, as a
 * deployment's environment would hold them; none is fine.
 */
const ALERT_ENV = [
  "CONTAINMENT_PAGERDUTY_ROUTING_KEY",
  "CONTAINMENT_PAGERDUTY_URL",
  "CONTAINMENT_SLACK_WEBHOOK_URL",
  "CONTAINMENT_ALERT_WEBHOOK_URL",
  "CONTAINMENT_ALERT_WEBHOOK_SECRET",
] as const;

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
  for (const name of ALERT_ENV) {
    const value = env[name];
    if (value !== undefined && value !== "" && out[name] === undefined) out[name] = value;
  }
  return out;
}
