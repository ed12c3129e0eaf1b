/**
 * A dependency that is unreachable or refuses, as the responder meets it through the real CLI:
 * the documented exit code (src/ops/errors.ts EXIT), one line on stderr, no password, token or
 * secret anywhere in stdout or stderr, no Lua source, no stack. Each case runs with and without
 * --json. Also: rediss:// with a certificate the process trusts (NODE_EXTRA_CA_CERTS) works.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis as IoRedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstashBridge, type UpstashBridge } from "../../src/dev/upstash-bridge.js";
import { EXIT } from "../../src/ops/errors.js";
import { type CliResult, runCli } from "../support/cli.js";
import { requireProgram } from "../support/programs.js";
import { freePort, type RedisServer, startRedisServer } from "../support/redis-server.js";

const PASSWORD = "responder-pw-4f9c2e";
const VERCEL_TOKEN = "vercel-token-7d1a93";
const REST_TOKEN = "rest-token-2b8e61";
const REPORT_SECRET = "report-secret-5c3f07";
const SECRETS = [PASSWORD, VERCEL_TOKEN, REST_TOKEN, REPORT_SECRET];
const USER = "containment-responder";

let plain: RedisServer;
let tls: RedisServer;
let tlsPort: number;
let bridge: UpstashBridge;
let dir: string;
let caFile: string;

/** A throwaway self-signed certificate for 127.0.0.1. */
function selfSigned(into: string): { cert: string; key: string } {
  const cert = join(into, "redis.crt");
  const key = join(into, "redis.key");
  execFileSync(requireProgram("openssl"), [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
    "-keyout",
    key,
    "-out",
    cert,
  ]);
  return { cert, key };
}

async function addResponder(url: string): Promise<void> {
  const io = new IoRedis(url);
  await io.call("ACL", "SETUSER", USER, "on", `>${PASSWORD}`, "~*", "+@all");
  // A failing EVAL: the chain head is a hash, so the append script's GET answers WRONGTYPE.
  await io.hset("containment:audit:head", "not", "a string");
  io.disconnect();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "containment-redis-failures-"));
  const { cert, key } = selfSigned(dir);
  caFile = cert;
  plain = await startRedisServer();
  tlsPort = await freePort();
  tls = await startRedisServer({
    args: [
      "--tls-port",
      String(tlsPort),
      "--tls-cert-file",
      cert,
      "--tls-key-file",
      key,
      "--tls-auth-clients",
      "no",
    ],
  });
  await addResponder(plain.url);
  await addResponder(tls.url);
  bridge = await startUpstashBridge({ redisUrl: plain.url, token: REST_TOKEN });
  // One journaled entry, so `audit sync` runs the append script.
  mkdirSync(join(dir, ".containment"));
  writeFileSync(
    join(dir, ".containment", "audit-journal.jsonl"),
    `${JSON.stringify({ uid: "u1", ts: "2026-12-01T21:00:00.000Z", draft: { action: "kill", phase: "intent" } })}\n`,
  );
});

afterAll(async () => {
  await bridge?.close();
  await plain?.stop();
  await tls?.stop();
});

const base = { EDGE_CONFIG_ID: "ecfg_test", VERCEL_TOKEN, CONTAINMENT_REPORT_SECRET: REPORT_SECRET };
const tcp = (url: string, extra: Record<string, string> = {}) => ({ ...base, REDIS_URL: url, ...extra });
const rest = (url: string, token: string) => ({
  ...base,
  UPSTASH_REDIS_REST_URL: url,
  UPSTASH_REDIS_REST_TOKEN: token,
});

/** Runs the command with and without --json and checks both. */
async function refused(
  args: string[],
  env: Record<string, string>,
  exit: number,
  says: RegExp,
): Promise<CliResult[]> {
  const results = [
    await runCli(args, { env, cwd: dir }),
    await runCli([...args, "--json"], { env, cwd: dir }),
  ];
  for (const result of results) {
    const all = result.stdout + result.stderr;
    expect(result.code, all).toBe(exit);
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(says);
    for (const secret of SECRETS) expect(all).not.toContain(secret);
    expect(all).not.toMatch(/redis\.call|command was|\n\s+at |ReplyError|UpstashError/);
  }
  const [human, json] = results as [CliResult, CliResult];
  expect(human.stdout).toBe("");
  expect(json.json).toMatchObject({ ok: false, error: { message: expect.stringMatching(says) } });
  return results;
}

describe("the CLI against a dependency that is unreachable or refuses", () => {
  it("redis:// unreachable: exit 4 naming the endpoint with the password masked", async () => {
    const port = await freePort();
    const [, json] = await refused(
      ["incident", "list"],
      tcp(`redis://${USER}:${PASSWORD}@127.0.0.1:${port}`),
      EXIT.unavailable,
      new RegExp(
        `^edge-containment: cannot reach Redis at redis://${USER}:\\*\\*\\*@127\\.0\\.0\\.1:${port} \\(connection refused\\): check REDIS_URL`,
      ),
    );
    expect(json?.json).toMatchObject({ error: { code: "ERR_UNAVAILABLE" } });
  });

  it("redis:// host not found (DNS): exit 4", async () => {
    await refused(
      ["incident", "list"],
      tcp(`redis://${USER}:${PASSWORD}@no-such-host.invalid:6379`),
      EXIT.unavailable,
      /cannot reach Redis at redis:\/\/containment-responder:\*\*\*@no-such-host\.invalid:6379 \(host not found/,
    );
  });

  it("rediss:// to a server that does not speak TLS: exit 4 at the connect deadline", async () => {
    await refused(
      ["incident", "list"],
      tcp(`rediss://${USER}:${PASSWORD}@127.0.0.1:${plain.port}`),
      EXIT.unavailable,
      // Redis waits for the end of a command line the TLS ClientHello never sends.
      /cannot reach Redis at rediss:\/\/containment-responder:\*\*\*@127\.0\.0\.1:\d+ \(connection or TLS handshake timed out\)/,
    );
  });

  it("rediss:// with a certificate this process does not trust: exit 4, TLS handshake failed", async () => {
    await refused(
      ["incident", "list"],
      tcp(`rediss://${USER}:${PASSWORD}@127.0.0.1:${tlsPort}`),
      EXIT.unavailable,
      /\(TLS handshake failed: [A-Z_]+\)/,
    );
  });

  it("rediss:// with a trusted certificate and the right password works", async () => {
    const result = await runCli(["incident", "list", "--json"], {
      env: tcp(`rediss://${USER}:${PASSWORD}@127.0.0.1:${tlsPort}`, { NODE_EXTRA_CA_CERTS: caFile }),
      cwd: dir,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.json).toEqual({ ok: true, incidents: [] });
  });

  it("a wrong password: exit 3 (configuration refused)", async () => {
    const [, json] = await refused(
      ["incident", "list"],
      tcp(`redis://${USER}:wrong-${PASSWORD}@127.0.0.1:${plain.port}`),
      EXIT.config,
      /Redis at redis:\/\/containment-responder:\*\*\*@127\.0\.0\.1:\d+ refused the credentials \(WRONGPASS[^)]*\): check the user and password in REDIS_URL/,
    );
    expect(json?.json).toMatchObject({ error: { code: "ERR_AUTH" } });
  });

  it("REST URL unreachable: exit 4", async () => {
    const port = await freePort();
    await refused(
      ["incident", "list"],
      rest(`http://127.0.0.1:${port}`, REST_TOKEN),
      EXIT.unavailable,
      new RegExp(
        `cannot reach Redis at http://127\\.0\\.0\\.1:${port} \\(connection refused\\): check UPSTASH_REDIS_REST_URL`,
      ),
    );
  });

  it("REST token refused: exit 3, naming the token's variable", async () => {
    await refused(
      ["incident", "list"],
      rest(bridge.url, `wrong-${REST_TOKEN}`),
      EXIT.config,
      /refused the credentials \(Unauthorized\): check UPSTASH_REDIS_REST_TOKEN/,
    );
  });

  it("a failing EVAL (TCP and REST): exit 4, the command's name and Redis' reason, no script", async () => {
    for (const env of [
      tcp(`redis://${USER}:${PASSWORD}@127.0.0.1:${plain.port}`),
      rest(bridge.url, REST_TOKEN),
    ])
      await refused(
        ["audit", "sync"],
        env,
        EXIT.unavailable,
        /Redis at \S+ failed EVAL \(WRONGTYPE Operation against a key holding the wrong kind of value\)/,
      );
  });

  it("a malformed REDIS_URL: exit 3 without the password it holds", async () => {
    await refused(
      ["incident", "list"],
      tcp(`redis//${USER}:${PASSWORD}@127.0.0.1:6379`),
      EXIT.config,
      /REDIS_URL must be a URL/,
    );
  });

  it("a Vercel API URL with credentials, unreachable: exit 4, credentials masked", async () => {
    const port = await freePort();
    await refused(
      ["list"],
      { ...base, VERCEL_API_URL: `http://proxy-user:${PASSWORD}@127.0.0.1:${port}` },
      EXIT.unavailable,
      /cannot reach the Vercel API at http:\/\/proxy-user:\*\*\*@127\.0\.0\.1:\d+/,
    );
  });
});
