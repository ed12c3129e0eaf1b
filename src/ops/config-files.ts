/**
 * The two files the responder's configuration reads (src/ops/config.ts): the project's
 * non-secret `containment.json`, refused when it holds a secret, and the endpoints a running
 * `containment dev` recorded in `.containment/dev.json` for `--local`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { configError } from "./errors.js";

export const PROJECT_FILE = "containment.json";
export const DEV_FILE = join(".containment", "dev.json");

export interface Webhook {
  url: string;
  /** `json`: our event object; `slack`: `{ text }` for Slack-compatible incoming webhooks. */
  format: "json" | "slack";
}

export interface ProjectFile {
  edgeConfigId?: string;
  teamId?: string;
  plan?: string;
  prefix?: string;
  incident?: string;
  webhooks?: Array<string | Webhook>;
  signKey?: string;
}

export interface DevFile {
  edgeConfig: { id: string; readUrl: string; apiBase: string; token: string };
  redis?: { url: string; token: string };
  prefix?: string;
  reportSecret?: string;
  /** The run's pseudonym key (`CONTAINMENT_SALT` of the stand-in edge). */
  pseudonymKey?: string;
}

const SECRET_FIELDS = ["token", "vercelToken", "apiToken", "redisToken", "secret", "password"];

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw configError(`${file} (${what}) is not valid JSON: ${reason}`);
  }
}

export function readProjectFile(cwd: string): ProjectFile | undefined {
  const file = join(cwd, PROJECT_FILE);
  if (!existsSync(file)) return undefined;
  const raw = readJson(file, "project file");
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    throw configError(`${file} must hold a JSON object like {"edgeConfigId":"ecfg_…","plan":"pro"}`);
  const leaked = SECRET_FIELDS.find((field) => field in raw);
  if (leaked !== undefined)
    throw configError(
      `${file} must not hold secrets (found "${leaked}"): remove it and set VERCEL_TOKEN / UPSTASH_REDIS_REST_TOKEN in the environment`,
    );
  return raw as ProjectFile;
}

export function readDevFile(cwd: string): DevFile {
  const file = join(cwd, DEV_FILE);
  if (!existsSync(file))
    throw configError(
      `--local needs a running \`containment dev\` started in ${cwd} (no ${DEV_FILE} here): start it, or drop --local`,
    );
  const raw = readJson(file, "written by containment dev") as Partial<DevFile>;
  if (typeof raw.edgeConfig?.id !== "string" || typeof raw.edgeConfig.apiBase !== "string")
    throw configError(`${file} is incomplete: restart \`containment dev\` to rewrite it`);
  return raw as DevFile;
}

/** What `containment dev` writes to `.containment/dev.json` (the shape `--local` reads). */
export type DevEndpoints = DevFile;
