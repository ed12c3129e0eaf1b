import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

let redis: RedisServer;
const children: ChildProcess[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  for (const child of children) child.kill("SIGTERM");
  await redis?.stop();
});

/** Runs `containment …` from source; resolves when `until` matches stdout, or on exit. */
function containment(
  args: string[],
  until?: RegExp,
  env: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string; code: number | null; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  return new Promise((resolve) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (until?.test(stdout)) resolve({ stdout, stderr, code: null, child });
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once("exit", (code) => resolve({ stdout, stderr, code, child }));
  });
}

describe("containment dashboard", () => {
  it("prints a loopback URL with a token that opens the dashboard once, then serves by cookie", async () => {
    const run = await containment(["dashboard", "--redis", redis.url, "--port", "0"], /read-only|actions:/);
    const url = /open (http:\S+)/.exec(run.stdout)?.[1] ?? "";
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43}$/);
    expect(run.stdout).toContain("read-only");
    const first = await fetch(url, { redirect: "manual" });
    expect(first.status).toBe(303);
    const cookie = (first.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const snapshot = await fetch(new URL("/api/v1/snapshot", url), { headers: { cookie } });
    expect(snapshot.status).toBe(200);
    expect(await snapshot.json()).toMatchObject({ v: 1, series: [] });
    run.child.kill("SIGTERM");
  });

  it("refuses bad flags and a missing Redis with one clear line and a non-zero exit", async () => {
    const port = await containment(["dashboard", "--port", "http"]);
    expect(port.code).not.toBe(0);
    expect(port.stderr).toContain("must be a port number");
    const noRedis = await containment(["dashboard", "--port", "0"]);
    expect(noRedis.code).not.toBe(0);
    expect(noRedis.stderr.trim().split("\n")).toHaveLength(1);
    expect(noRedis.stderr).toMatch(/--redis redis:\/\/… or set UPSTASH_REDIS_REST_URL/);
    const badUrl = await containment(["dashboard", "--redis", "http://x", "--port", "0"]);
    expect(badUrl.code).not.toBe(0);
    expect(badUrl.stderr).toMatch(/--redis/);
  });

  it("has --help with an example", async () => {
    const help = await containment(["dashboard", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("$ containment dashboard --local");
  });
});
