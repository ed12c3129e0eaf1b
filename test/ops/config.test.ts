import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { edgeConfigIdFromConnection } from "../../src/model/edge-config-items.js";
import { loadOpsConfig } from "../../src/ops/config.js";
import { postWebhooks } from "../../src/ops/notify.js";

const dir = (files: Record<string, unknown> = {}): string => {
  const cwd = mkdtempSync(join(tmpdir(), "containment-config-"));
  for (const [name, value] of Object.entries(files)) {
    mkdirSync(join(cwd, name, ".."), { recursive: true });
    writeFileSync(join(cwd, name), typeof value === "string" ? value : JSON.stringify(value));
  }
  return cwd;
};

describe("loadOpsConfig", () => {
  it("takes flags over environment over containment.json, and says where each value came from", () => {
    const cwd = dir({
      "containment.json": { edgeConfigId: "ecfg_file", plan: "hobby", prefix: "proj:", incident: "INC-1" },
    });
    const fromFile = loadOpsConfig({ env: {}, cwd });
    expect(fromFile.edgeConfig).toMatchObject({
      id: "ecfg_file",
      plan: "hobby",
      apiBase: "https://api.vercel.com",
    });
    expect(fromFile).toMatchObject({ prefix: "proj:", incident: "INC-1" });
    expect(fromFile.sources["edgeConfig.id"]).toBe("containment.json");
    const fromEnv = loadOpsConfig({
      env: { EDGE_CONFIG: "https://edge-config.vercel.com/ecfg_conn?token=t", VERCEL_TOKEN: "tok" },
      cwd,
    });
    expect(fromEnv.edgeConfig).toMatchObject({ id: "ecfg_conn", token: "tok" });
    expect(fromEnv.sources["edgeConfig.id"]).toBe("env EDGE_CONFIG");
    const fromFlag = loadOpsConfig({
      flags: { edgeConfig: "ecfg_flag", plan: "enterprise" },
      env: { EDGE_CONFIG_ID: "ecfg_env" },
      cwd,
    });
    expect(fromFlag.edgeConfig).toMatchObject({ id: "ecfg_flag", plan: "enterprise" });
  });

  it("reads Redis from the Upstash variables, KV variables or a redis:// URL, and refuses half a pair", () => {
    const cwd = dir();
    const base = { EDGE_CONFIG_ID: "ecfg_x" };
    expect(
      loadOpsConfig({
        env: { ...base, UPSTASH_REDIS_REST_URL: "https://u.upstash.io", UPSTASH_REDIS_REST_TOKEN: "t" },
        cwd,
      }).redis,
    ).toEqual({ url: "https://u.upstash.io", token: "t" });
    expect(
      loadOpsConfig({ env: { ...base, KV_REST_API_URL: "https://kv", KV_REST_API_TOKEN: "k" }, cwd }).redis,
    ).toEqual({ url: "https://kv", token: "k" });
    expect(loadOpsConfig({ flags: { redis: "redis://127.0.0.1:6379" }, env: base, cwd }).redis).toEqual({
      redisUrl: "redis://127.0.0.1:6379",
    });
    expect(() => loadOpsConfig({ env: { ...base, UPSTASH_REDIS_REST_URL: "https://u" }, cwd })).toThrow(
      /UPSTASH_REDIS_REST_TOKEN is not/,
    );
  });

  it("says what to set when the store is missing, malformed, or the project file holds a secret", () => {
    expect(() => loadOpsConfig({ env: {}, cwd: dir() })).toThrow(/set EDGE_CONFIG_ID=ecfg_/);
    expect(() => loadOpsConfig({ env: { EDGE_CONFIG_ID: "abc" }, cwd: dir() })).toThrow(
      /must look like ecfg_abc123/,
    );
    expect(() =>
      loadOpsConfig({ env: { EDGE_CONFIG_ID: "ecfg_x", CONTAINMENT_PLAN: "gold" }, cwd: dir() }),
    ).toThrow(/hobby, pro or enterprise/);
    expect(() =>
      loadOpsConfig({
        env: {},
        cwd: dir({ "containment.json": { edgeConfigId: "ecfg_x", token: "secret" } }),
      }),
    ).toThrow(/must not hold secrets/);
    expect(() => loadOpsConfig({ env: {}, cwd: dir({ "containment.json": "{ nope" }) })).toThrow(
      /not valid JSON/,
    );
  });

  it("with --local reads the endpoints containment dev recorded, and explains when it is not running", () => {
    const dev = {
      edgeConfig: {
        id: "ecfg_local",
        readUrl: "http://127.0.0.1:1/ecfg_local?token=r",
        apiBase: "http://127.0.0.1:1",
        token: "local",
      },
      redis: { url: "http://127.0.0.1:2", token: "b" },
      prefix: "containment:",
      reportSecret: "s",
    };
    const config = loadOpsConfig({
      flags: { local: true },
      env: {},
      cwd: dir({ ".containment/dev.json": dev }),
    });
    expect(config).toMatchObject({
      local: true,
      edgeConfig: { id: "ecfg_local", token: "local", apiBase: "http://127.0.0.1:1" },
      redis: dev.redis,
      reportSecret: "s",
    });
    expect(() => loadOpsConfig({ flags: { local: true }, env: {}, cwd: dir() })).toThrow(
      /needs a running `containment dev`/,
    );
  });

  it("derives the id from connection strings of Vercel and of the local stand-in", () => {
    expect(edgeConfigIdFromConnection("https://edge-config.vercel.com/ecfg_abc?token=x")).toBe("ecfg_abc");
    expect(edgeConfigIdFromConnection("http://127.0.0.1:4123/ecfg_local?token=x")).toBe("ecfg_local");
    expect(edgeConfigIdFromConnection("not a url")).toBeUndefined();
  });
});

describe("webhook notifications", () => {
  it("posts JSON and Slack bodies, and reports a slow or failing hook without throwing", async () => {
    const bodies: Array<{ path: string; body: unknown }> = [];
    const server = createServer((req, res) => {
      let text = "";
      req.on("data", (chunk) => {
        text += chunk;
      });
      req.on("end", () => {
        bodies.push({ path: req.url ?? "", body: JSON.parse(text) });
        if (req.url === "/slow") return; // never answers: the deadline decides
        res.writeHead(req.url === "/fail" ? 500 : 200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const base = `http://127.0.0.1:${port}`;
    try {
      const event = {
        kind: "change" as const,
        action: "kill",
        summary: "kill switch x created",
        at: "2026-12-01T00:00:00.000Z",
      };
      const results = await postWebhooks(
        [
          { url: `${base}/json`, format: "json" },
          { url: `${base}/slack`, format: "slack" },
          { url: `${base}/fail`, format: "json" },
        ],
        event,
        { timeoutMs: 10_000 },
      );
      expect(results.map((r) => [r.ok, r.error])).toEqual([
        [true, undefined],
        [true, undefined],
        [false, "answered 500"],
      ]);
      const [slow] = await postWebhooks([{ url: `${base}/slow`, format: "json" }], event, { timeoutMs: 300 });
      expect(slow).toEqual({ url: base, ok: false, error: "no answer within 300 ms" });
      expect(bodies.find((b) => b.path === "/json")?.body).toMatchObject({
        source: "edge-containment",
        action: "kill",
        summary: "kill switch x created",
      });
      expect(bodies.find((b) => b.path === "/slack")?.body).toEqual({
        text: ":shield: edge-containment: kill switch x created",
      });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
