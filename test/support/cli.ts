/** Runs the real `containment` CLI (from source, through tsx) as a child process. */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json: Record<string, unknown> | undefined;
}

const MAIN = join(import.meta.dirname, "..", "..", "src", "cli", "main.ts");
// Resolved from here, so the CLI can run in any directory (a temp dir with its own containment.json).
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/**
 * What a responder's shell holds for the CLI: the stand-in's Edge Config store and Vercel API, and
 * the Upstash REST connection; `extra` adds the rest (report secret, prefix, keys).
 */
export function responderEnv(
  ec: { id: string; apiToken: string; apiUrl: string },
  redis: { url: string; token: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    EDGE_CONFIG_ID: ec.id,
    VERCEL_TOKEN: ec.apiToken,
    VERCEL_API_URL: ec.apiUrl,
    UPSTASH_REDIS_REST_URL: redis.url,
    UPSTASH_REDIS_REST_TOKEN: redis.token,
    ...extra,
  };
}

/** Runs the CLI to its end; `json` is its last stdout line parsed, when it is JSON. */
export async function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  const result = await spawnCli(args, options).done;
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(result.stdout.trim().split("\n").pop() ?? "") as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { ...result, json };
}

export interface RunningCli {
  /** What the command printed so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves when it exits. */
  done: Promise<CliResult>;
  /** Sends it a signal (SIGINT: what Ctrl-C does). */
  signal(name: NodeJS.Signals): void;
}

/** The same child as `runCli`, readable while it runs (`--wait` prints each region as it confirms). */
export function spawnCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): RunningCli {
  const child = spawn(process.execPath, ["--import", TSX, MAIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    // Only what the test gives: no VERCEL_TOKEN or Redis from the developer's shell leaks in.
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr, json: undefined }));
  });
  return { output: () => ({ stdout, stderr }), done, signal: (name) => child.kill(name) };
}
