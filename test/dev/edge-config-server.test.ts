import { createClient } from "@vercel/edge-config";
import { afterEach, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { EdgeConfigWriteError } from "../../src/dev/edge-config-state.js";

// The client swaps in an in-memory SWR cache when NODE_ENV is "development"; these tests are
// about the HTTP protocol, so make sure every call reaches the server.
process.env.EDGE_CONFIG_DISABLE_DEVELOPMENT_SWR = "1";

const servers: EdgeConfigServer[] = [];
async function start(options: Parameters<typeof startEdgeConfigServer>[0] = {}): Promise<EdgeConfigServer> {
  const server = await startEdgeConfigServer(options);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function patch(server: EdgeConfigServer, items: unknown[], token = server.apiToken): Promise<Response> {
  return fetch(`${server.apiUrl}/v1/edge-config/${server.id}/items?teamId=team_local`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ items }),
  });
}

describe("the Edge Config stand-in, read by the real @vercel/edge-config client", () => {
  it("serves an item, all items, a selection of items and whether keys exist", async () => {
    const ec = await start({ items: { containment: { version: 1, rules: [] }, flag: true, n: 3 } });
    const client = createClient(ec.connectionString);

    expect(await client.get("containment")).toEqual({ version: 1, rules: [] });
    expect(await client.getAll()).toEqual({ containment: { version: 1, rules: [] }, flag: true, n: 3 });
    expect(await client.getAll(["flag", "n", "absent"])).toEqual({ flag: true, n: 3 });
    expect(await client.has("flag")).toBe(true);
    expect(await client.has("absent")).toBe(false);
    expect(await client.digest()).toBe(ec.digest());
  });

  it("reads a missing key as undefined because its 404 carries the digest header", async () => {
    const ec = await start({ items: { a: 1 } });
    expect(await createClient(ec.connectionString).get("missing")).toBeUndefined();

    const res = await fetch(`${ec.url}/${ec.id}/item/missing?version=1`, {
      headers: { authorization: `Bearer ${ec.readToken}` },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-edge-config-digest")).toBe(ec.digest());
  });

  it("changes the digest when an item changes and the client then reads the new value", async () => {
    const ec = await start({ items: { containment: { mode: "monitor" } } });
    const client = createClient(ec.connectionString);
    const before = await client.digest();
    expect(await client.get("containment")).toEqual({ mode: "monitor" });

    ec.setItem("containment", { mode: "enforce" });

    const after = await client.digest();
    expect(after).not.toBe(before);
    expect(after).toBe(ec.digest());
    expect(await client.get("containment")).toEqual({ mode: "enforce" });
  });

  it("answers 304 to a matching If-None-Match, and the client replays its cached body", async () => {
    const ec = await start({ items: { k: { deep: ["v"] } } });
    const url = `${ec.url}/${ec.id}/item/k?version=1`;
    const headers = { authorization: `Bearer ${ec.readToken}` };
    const first = await fetch(url, { headers });
    const etag = first.headers.get("etag");
    expect(first.status).toBe(200);
    expect(etag).toMatch(/^".+"$/);

    const second = await fetch(url, { headers: { ...headers, "if-none-match": etag ?? "" } });
    expect(second.status).toBe(304);
    expect(second.headers.get("x-edge-config-digest")).toBe(ec.digest());

    const client = createClient(ec.connectionString);
    expect(await client.get("k")).toEqual({ deep: ["v"] }); // fills the client's ETag cache
    expect(await client.get("k")).toEqual({ deep: ["v"] }); // revalidated with a 304
    ec.setItem("k", "changed");
    expect(await client.get("k")).toBe("changed"); // the ETag no longer matches
  });

  it("serves consistent reads, which send x-edge-config-min-updated-at", async () => {
    const ec = await start({ items: { k: "v" } });
    const client = createClient(ec.connectionString);
    expect(await client.get("k", { consistentRead: true })).toBe("v");
    expect(await client.getAll(undefined, { consistentRead: true })).toEqual({ k: "v" });
  });

  it("rejects a wrong read token with 401, which the client throws as Unauthorized", async () => {
    const ec = await start({ items: { k: "v" } });
    const client = createClient(`${ec.url}/${ec.id}?token=wrong`);
    await expect(client.get("k")).rejects.toThrow("@vercel/edge-config: Unauthorized");
    await expect(client.has("k")).rejects.toThrow("Unauthorized");
  });

  it("answers an unknown config id with a 404 without digest, which the client throws as not found", async () => {
    const ec = await start({ items: { k: "v" } });
    const res = await fetch(`${ec.url}/ecfg_other/item/k?version=1`, {
      headers: { authorization: `Bearer ${ec.readToken}` },
    });
    expect(res.status).toBe(404);
    expect(res.headers.has("x-edge-config-digest")).toBe(false);
    await expect(createClient(`${ec.url}/ecfg_other?token=${ec.readToken}`).get("k")).rejects.toThrow(
      "Edge Config not found",
    );
  });

  it("makes the client throw during an outage when it has no stale copy to fall back on", async () => {
    const ec = await start({ items: { k: "v" } });
    ec.setDown(true);
    await expect(createClient(ec.connectionString).get("k")).rejects.toThrow("status code 503");
    await expect(createClient(ec.connectionString).getAll()).rejects.toThrow("status code 503");
    ec.setDown(false);
    expect(await createClient(ec.connectionString).get("k")).toBe("v");
  });

  it("lets a client with default options serve its last good copy during an outage (stale-if-error)", async () => {
    const ec = await start({ items: { k: "v" } });
    const defaults = createClient(ec.connectionString);
    const strict = createClient(ec.connectionString, { staleIfError: false });
    expect(await defaults.get("k")).toBe("v");
    ec.setDown(true);
    expect(await defaults.get("k")).toBe("v");
    await expect(strict.get("k")).rejects.toThrow("status code 503");
  });

  it("adds the configured latency to every response", async () => {
    const ec = await start({ items: { k: "v" } });
    ec.setDelay(120);
    const started = performance.now();
    expect(await createClient(ec.connectionString).get("k")).toBe("v");
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
  });

  it("counts each read round trip and each write", async () => {
    const ec = await start({ items: { k: "v" } });
    const client = createClient(ec.connectionString);
    await client.get("k");
    await client.has("k");
    await client.digest();
    expect(ec.counts.reads).toBe(3);
    expect((await patch(ec, [{ operation: "upsert", key: "k", value: 2 }])).status).toBe(200);
    expect(ec.counts.writes).toBe(1);
    ec.resetCounts();
    expect(ec.counts).toEqual({ reads: 0, writes: 0, apiReads: 0 });
  });
});

describe("the Edge Config stand-in's Vercel REST write API", () => {
  it("upserts and deletes items in one atomic PATCH and answers status ok", async () => {
    const ec = await start({ items: { old: 1 } });
    const res = await patch(ec, [
      { operation: "upsert", key: "containment_kill_export", value: { id: "export", status: 503 } },
      { operation: "delete", key: "old" },
    ]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
    expect(ec.items()).toEqual({ containment_kill_export: { id: "export", status: 503 } });
    expect(await createClient(ec.connectionString).get("containment_kill_export")).toEqual({
      id: "export",
      status: 503,
    });
  });

  it("lists items and reads one item with metadata", async () => {
    const ec = await start({ items: { a: "x" } });
    const auth = { authorization: `Bearer ${ec.apiToken}` };
    const list = (await (
      await fetch(`${ec.apiUrl}/v1/edge-config/${ec.id}/items`, { headers: auth })
    ).json()) as Array<Record<string, unknown>>;
    expect(list).toEqual([
      expect.objectContaining({ key: "a", value: "x", edgeConfigId: ec.id, createdAt: expect.any(Number) }),
    ]);
    const one = await fetch(`${ec.apiUrl}/v1/edge-config/${ec.id}/item/a`, { headers: auth });
    expect(await one.json()).toEqual(expect.objectContaining({ key: "a", value: "x" }));
    const missing = await fetch(`${ec.apiUrl}/v1/edge-config/${ec.id}/item/b`, { headers: auth });
    expect(missing.status).toBe(404);
    const meta = (await (
      await fetch(`${ec.apiUrl}/v1/edge-config/${ec.id}`, { headers: auth })
    ).json()) as Record<string, unknown>;
    expect(meta).toEqual(
      expect.objectContaining({ digest: ec.digest(), itemCount: 1, sizeInBytes: ec.sizeBytes() }),
    );
  });

  it("refuses the read token and a wrong token with a Vercel-shaped 403", async () => {
    const ec = await start();
    for (const token of [ec.readToken, "wrong"]) {
      const res = await patch(ec, [{ operation: "upsert", key: "k", value: 1 }], token);
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({
        error: { code: "forbidden", message: "Not authorized", invalidToken: true },
      });
    }
    expect(ec.items()).toEqual({});
  });

  it("rejects an invalid key and applies none of the batch", async () => {
    const ec = await start({ items: { keep: 1 } });
    const digest = ec.digest();
    const res = await patch(ec, [
      { operation: "upsert", key: "fine", value: 1 },
      { operation: "upsert", key: "not/valid key", value: 2 },
    ]);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { code: "bad_request", message: expect.stringContaining("not/valid key") },
    });
    expect(ec.items()).toEqual({ keep: 1 });
    expect(ec.digest()).toBe(digest);
  });

  it("refuses to create an existing key or update a missing one", async () => {
    const ec = await start({ items: { a: 1 } });
    expect((await patch(ec, [{ operation: "create", key: "a", value: 2 }])).status).toBe(409);
    expect((await patch(ec, [{ operation: "update", key: "b", value: 2 }])).status).toBe(404);
    expect((await patch(ec, [{ operation: "update", key: "a", value: 3 }])).status).toBe(200);
    expect(ec.items()).toEqual({ a: 3 });
  });

  it("rejects a write that would take the store over its size limit and keeps the old items", async () => {
    const ec = await start({ sizeLimitBytes: 1024, items: { rules: "x".repeat(500) } });
    const res = await patch(ec, [{ operation: "upsert", key: "big", value: "y".repeat(600) }]);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { code: "size_limit_exceeded", message: expect.stringContaining("1024") },
    });
    expect(Object.keys(ec.items())).toEqual(["rules"]);
    expect(() => ec.setItem("big", "y".repeat(600))).toThrow(EdgeConfigWriteError);
    expect((await patch(ec, [{ operation: "upsert", key: "small", value: "y".repeat(100) }])).status).toBe(
      200,
    );
  });

  it("defaults to Vercel Pro's 64 KB limit", async () => {
    const ec = await start();
    expect(() => ec.setItem("big", "z".repeat(64 * 1024))).toThrow(/65536 bytes/);
    ec.setItem("fits", "z".repeat(60 * 1024));
    expect(ec.sizeBytes()).toBeLessThanOrEqual(64 * 1024);
  });
});
