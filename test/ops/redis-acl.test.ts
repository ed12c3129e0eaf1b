import { Redis as IoRedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APPEND_SCRIPT } from "../../src/ops/audit/chain.js";
import { aclRules, type RedisRole } from "../../src/ops/redis-acl.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

let server: RedisServer;
const clients: IoRedis[] = [];
const P = "containment:";

function as(role: RedisRole): IoRedis {
  const client = new IoRedis({
    port: server.port,
    host: "127.0.0.1",
    username: `containment-${role}`,
    password: `${role}-pw`,
    maxRetriesPerRequest: 0,
    lazyConnect: false,
  });
  client.on("error", () => {});
  clients.push(client);
  return client;
}

const append = (client: IoRedis) =>
  client.eval(APPEND_SCRIPT, 2, `${P}audit`, `${P}audit:head`, "", "{}", "h", String(Date.now()), "1:h", "");

beforeAll(async () => {
  server = await startRedisServer();
  const admin = new IoRedis({ port: server.port, host: "127.0.0.1" });
  for (const role of ["edge", "responder", "reader"] as const)
    await admin.call("ACL", "SETUSER", `containment-${role}`, ...aclRules(role, P, `${role}-pw`));
  admin.disconnect();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server.stop();
});

describe("the three Redis credentials", () => {
  it("lets the edge write the mirror and rate-limit keys and read the fast lane, but never append to the audit chain", async () => {
    const edge = as("edge");
    await edge.xadd(`${P}events`, "*", "rule", "r");
    await edge.hincrby(`${P}counts:1`, "r|block", 1);
    await edge.set(`${P}rl:x`, "1");
    expect(await edge.hgetall(`${P}fastlane`)).toEqual({});
    await expect(edge.hset(`${P}fastlane`, "x", "forged")).rejects.toThrow(/NOPERM/);
    await expect(append(edge)).rejects.toThrow(/NOPERM/);
    await expect(edge.set(`${P}audit:head`, "1:forged")).rejects.toThrow(/NOPERM/);
  });

  it("lets the responders append to the audit chain and publish to the fast lane", async () => {
    const responder = as("responder");
    expect(((await append(responder)) as unknown[])[0]).toBe(1);
    await responder.hset(`${P}fastlane`, "x", "{}");
  });

  it("lets dashboards read everything and write nothing", async () => {
    const reader = as("reader");
    expect(await reader.xlen(`${P}audit`)).toBe(1);
    await expect(reader.set(`${P}events`, "x")).rejects.toThrow(/NOPERM/);
    await expect(append(reader)).rejects.toThrow(/NOPERM/);
  });
});
