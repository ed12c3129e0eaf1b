/**
 * Where the responder's side finds things: the Edge Config store and its Vercel API token, Redis,
 * the key prefix, webhooks. Sources, highest first: flags, environment, the project file
 * `containment.json` (non-secret: store id, team, plan, prefix, default incident, webhooks), and
 * with `--local` the endpoints a running `containment dev` recorded in `.containment/dev.json`.
 *
 * Pure (no I/O besides reading those two files), so the CLI, the dashboard and tests share it;
 * `containment doctor` checks each value live.
 */
import { join, resolve } from "node:path";
import { redactSecrets } from "../core/redact.js";
import { DEFAULT_REDIS_PREFIX } from "../model/defaults.js";
import { edgeConfigIdFromConnection } from "../model/edge-config-items.js";
import {
  DEV_FILE,
  PROJECT_FILE,
  type ProjectFile,
  readDevFile,
  readProjectFile,
  type Webhook,
} from "./config-files.js";
import { configError } from "./errors.js";

export type Plan = "hobby" | "pro" | "enterprise";

/** Vercel's Edge Config plan limits on the JSON size of all items of a store, in bytes. */
export const PLAN_LIMITS: Readonly<Record<Plan, number>> = {
  hobby: 8 * 1024,
  pro: 64 * 1024,
  enterprise: 512 * 1024,
};

export const VERCEL_API = "https://api.vercel.com";
export const JOURNAL_FILE = join(".containment", "audit-journal.jsonl");

/** Upstash REST (what `@upstash/redis` takes) or a `redis://` / `rediss://` URL (ioredis: redis-tcp.ts). */
export type RedisConfig = { url: string; token: string } | { redisUrl: string };

export interface OpsConfig {
  edgeConfig: {
    id: string;
    /** Vercel API token (`VERCEL_TOKEN`); writes and the actor lookup need it. */
    token?: string;
    teamId?: string;
    plan: Plan;
    /** `https://api.vercel.com`, or the dev server's stand-in. */
    apiBase: string;
    /** Read connection string (`EDGE_CONFIG`), when known: `doctor` checks it too. */
    readUrl?: string;
  };
  redis?: RedisConfig;
  prefix: string;
  /** What `--actor` / `CONTAINMENT_ACTOR` claimed; recorded beside the verified actor. */
  actorClaim?: string;
  webhooks: Webhook[];
  local?: boolean;
  /** Default incident id for changes (project file `incident`). */
  incident?: string;
  /** `CONTAINMENT_REPORT_SECRET`: verifies the isolates' enforcement reports for `--wait`. */
  reportSecret?: string;
  /** `CONTAINMENT_SALT`: the edge's pseudonym key, which `tenant resolve` checks a pseudonym with. */
  pseudonymKey?: string;
  /** Ed25519 private JWK file that signs audit entries (`--sign-key`, `CONTAINMENT_SIGN_KEY`). */
  signKey?: string;
  /**
   * `CONTAINMENT_FASTLANE_AUDIENCE`: the deployment scope fast-lane entries are signed for when the
   * edge is configured with one (`fastLane.audience`); else the Edge Config id.
   */
  fastLaneAudience?: string;
  /** Journal for audit entries written while Redis is unreachable. */
  journal: string;
  cwd: string;
  /** Where each setting came from (`flag`, `env VERCEL_TOKEN`, `containment.json`, `dev.json`). */
  sources: Record<string, string>;
}

export interface OpsFlags {
  edgeConfig?: string;
  token?: string;
  team?: string;
  plan?: string;
  redis?: string;
  prefix?: string;
  actor?: string;
  local?: boolean;
  signKey?: string;
  webhook?: string[];
}

export interface LoadOptions {
  flags?: OpsFlags;
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
}

const ID_PATTERN = /^ecfg_[A-Za-z0-9_-]+$/;
const PREFIX_PATTERN = /^[\w:.-]{0,64}$/;

function checkId(id: string, source: string): string {
  if (!ID_PATTERN.test(id))
    throw configError(
      `the Edge Config id from ${source} must look like ecfg_abc123, got ${JSON.stringify(id)}`,
    );
  return id;
}

function checkPlan(plan: string, source: string): Plan {
  if (plan in PLAN_LIMITS) return plan as Plan;
  throw configError(`the plan from ${source} must be hobby, pro or enterprise, got ${JSON.stringify(plan)}`);
}

function checkUrl(text: string, source: string, protocols: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw configError(
      `${source} must be a URL (${protocols.join(" or ")}), got ${JSON.stringify(redactSecrets(text))}`,
    );
  }
  if (!protocols.includes(url.protocol))
    throw configError(`${source} must be a ${protocols.join(" or ")} URL, got ${url.protocol}//…`);
  return text;
}

function parseWebhook(value: string | Webhook, source: string): Webhook {
  if (typeof value === "object" && value !== null) {
    const format = value.format === "slack" ? "slack" : "json";
    return { url: checkUrl(value.url, source, ["https:", "http:"]), format };
  }
  // `slack:https://hooks.slack.com/…` selects the Slack body; a hooks.slack.com URL implies it.
  const slack = value.startsWith("slack:");
  const url = checkUrl(slack ? value.slice(6) : value, source, ["https:", "http:"]);
  return { url, format: slack || new URL(url).hostname === "hooks.slack.com" ? "slack" : "json" };
}

type Env = Readonly<Record<string, string | undefined>>;

function pick(
  sources: Record<string, string>,
  name: string,
  candidates: Array<[string | undefined, string]>,
): string | undefined {
  for (const [value, source] of candidates) {
    if (value !== undefined && value !== "") {
      sources[name] = source;
      return value;
    }
  }
  return undefined;
}

function redisFrom(flags: OpsFlags, env: Env, sources: Record<string, string>): RedisConfig | undefined {
  if (flags.redis !== undefined) {
    sources.redis = "--redis";
    return { redisUrl: checkUrl(flags.redis, "--redis", ["redis:", "rediss:"]) };
  }
  const rest: Array<[string, string]> = [
    ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"],
    ["KV_REST_API_URL", "KV_REST_API_TOKEN"],
  ];
  for (const [urlVar, tokenVar] of rest) {
    const url = env[urlVar];
    if (!url) continue;
    const token = env[tokenVar];
    if (!token) throw configError(`${urlVar} is set but ${tokenVar} is not: set both, or neither`);
    sources.redis = `env ${urlVar}`;
    return { url: checkUrl(url, urlVar, ["https:", "http:"]), token };
  }
  if (env.REDIS_URL) {
    sources.redis = "env REDIS_URL";
    return { redisUrl: checkUrl(env.REDIS_URL, "REDIS_URL", ["redis:", "rediss:"]) };
  }
  return undefined;
}

/**
 * Loads the responder's configuration. Throws one ERR_CONFIG line naming the setting to fix.
 *
 * @example
 * const config = loadOpsConfig({ flags: { local: true }, env: process.env, cwd: process.cwd() });
 * config.edgeConfig.id; // "ecfg_local"
 */
export function loadOpsConfig(options: LoadOptions = {}): OpsConfig {
  const flags = options.flags ?? {};
  const env = options.env ?? {};
  const cwd = resolve(options.cwd ?? ".");
  const project = readProjectFile(cwd) ?? {};
  const sources: Record<string, string> = {};
  if (flags.local) return localConfig(flags, env, cwd, project, sources);

  const connection = env.EDGE_CONFIG;
  const fromConnection = connection === undefined ? undefined : edgeConfigIdFromConnection(connection);
  const id = pick(sources, "edgeConfig.id", [
    [flags.edgeConfig, "--edge-config"],
    [env.EDGE_CONFIG_ID, "env EDGE_CONFIG_ID"],
    [fromConnection, "env EDGE_CONFIG"],
    [project.edgeConfigId, PROJECT_FILE],
  ]);
  if (id === undefined)
    throw configError(
      `no Edge Config store: set EDGE_CONFIG_ID=ecfg_… (or EDGE_CONFIG, --edge-config, or "edgeConfigId" in ${PROJECT_FILE})`,
    );
  const token = pick(sources, "edgeConfig.token", [
    [flags.token, "--token"],
    [env.VERCEL_TOKEN, "env VERCEL_TOKEN"],
  ]);
  const teamId = pick(sources, "edgeConfig.teamId", [
    [flags.team, "--team"],
    [env.VERCEL_TEAM_ID, "env VERCEL_TEAM_ID"],
    [project.teamId, PROJECT_FILE],
  ]);
  const plan = pick(sources, "edgeConfig.plan", [
    [flags.plan, "--plan"],
    [env.CONTAINMENT_PLAN, "env CONTAINMENT_PLAN"],
    [project.plan, PROJECT_FILE],
  ]);
  const apiBase = pick(sources, "edgeConfig.apiBase", [[env.VERCEL_API_URL, "env VERCEL_API_URL"]]);
  const config: OpsConfig = {
    edgeConfig: {
      id: checkId(id, sources["edgeConfig.id"] ?? "?"),
      plan: plan === undefined ? "pro" : checkPlan(plan, sources["edgeConfig.plan"] ?? "?"),
      apiBase: apiBase === undefined ? VERCEL_API : checkUrl(apiBase, "VERCEL_API_URL", ["https:", "http:"]),
      ...(token === undefined ? {} : { token }),
      ...(teamId === undefined ? {} : { teamId }),
      ...(connection === undefined ? {} : { readUrl: connection }),
    },
    ...common(flags, env, cwd, project, sources),
  };
  const redis = redisFrom(flags, env, sources);
  if (redis !== undefined) config.redis = redis;
  return config;
}

function localConfig(
  flags: OpsFlags,
  env: Env,
  cwd: string,
  project: ProjectFile,
  sources: Record<string, string>,
): OpsConfig {
  const dev = readDevFile(cwd);
  for (const name of ["edgeConfig.id", "edgeConfig.token", "edgeConfig.apiBase", "redis"])
    sources[name] = DEV_FILE;
  const base = common(flags, env, cwd, project, sources);
  const config: OpsConfig = {
    edgeConfig: {
      id: dev.edgeConfig.id,
      token: dev.edgeConfig.token,
      plan: checkPlan(flags.plan ?? project.plan ?? "pro", "--plan"),
      apiBase: dev.edgeConfig.apiBase,
      readUrl: dev.edgeConfig.readUrl,
    },
    ...base,
    prefix: flags.prefix ?? dev.prefix ?? base.prefix,
    local: true,
  };
  if (dev.redis !== undefined) config.redis = dev.redis;
  const secret = env.CONTAINMENT_REPORT_SECRET ?? dev.reportSecret;
  if (secret !== undefined) config.reportSecret = secret;
  const pseudonymKey = env.CONTAINMENT_SALT ?? dev.pseudonymKey;
  if (pseudonymKey !== undefined) config.pseudonymKey = pseudonymKey;
  return config;
}

type Common = Pick<
  OpsConfig,
  | "prefix"
  | "webhooks"
  | "journal"
  | "cwd"
  | "sources"
  | "actorClaim"
  | "incident"
  | "reportSecret"
  | "pseudonymKey"
  | "signKey"
  | "fastLaneAudience"
>;

function common(
  flags: OpsFlags,
  env: Env,
  cwd: string,
  project: ProjectFile,
  sources: Record<string, string>,
): Common {
  const prefix =
    pick(sources, "prefix", [
      [flags.prefix, "--prefix"],
      [env.CONTAINMENT_REDIS_PREFIX, "env CONTAINMENT_REDIS_PREFIX"],
      [project.prefix, PROJECT_FILE],
    ]) ?? DEFAULT_REDIS_PREFIX;
  if (!PREFIX_PATTERN.test(prefix))
    throw configError(
      `the Redis prefix must be up to 64 letters, digits, _ : . or -, got ${JSON.stringify(prefix)}`,
    );
  const webhooks = [
    ...(flags.webhook ?? []).map((url) => parseWebhook(url, "--webhook")),
    ...(env.CONTAINMENT_WEBHOOKS ?? "")
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((url) => parseWebhook(url, "env CONTAINMENT_WEBHOOKS")),
    ...(project.webhooks ?? []).map((hook) => parseWebhook(hook, PROJECT_FILE)),
  ];
  const out: Common = { prefix, webhooks, journal: join(cwd, JOURNAL_FILE), cwd, sources };
  const actor = pick(sources, "actor", [
    [flags.actor, "--actor"],
    [env.CONTAINMENT_ACTOR, "env CONTAINMENT_ACTOR"],
  ]);
  if (actor !== undefined) out.actorClaim = actor.slice(0, 200);
  if (project.incident !== undefined) out.incident = project.incident;
  if (env.CONTAINMENT_REPORT_SECRET) out.reportSecret = env.CONTAINMENT_REPORT_SECRET;
  if (env.CONTAINMENT_SALT) out.pseudonymKey = env.CONTAINMENT_SALT;
  if (env.CONTAINMENT_FASTLANE_AUDIENCE) out.fastLaneAudience = env.CONTAINMENT_FASTLANE_AUDIENCE;
  const signKey = pick(sources, "signKey", [
    [flags.signKey, "--sign-key"],
    [env.CONTAINMENT_SIGN_KEY, "env CONTAINMENT_SIGN_KEY"],
    [project.signKey, PROJECT_FILE],
  ]);
  if (signKey !== undefined) out.signKey = resolve(cwd, signKey);
  return out;
}
