import { afterEach, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";

let ec: EdgeConfigServer | undefined;
afterEach(async () => {
  await ec?.close();
  ec = undefined;
});

async function call(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
  const server = ec as EdgeConfigServer;
  const headers = new Headers(init.headers);
  if (init.token !== null) headers.set("authorization", `Bearer ${init.token ?? server.apiToken}`);
  if (init.body !== undefined && !headers.has("content-type"))
    headers.set("content-type", "application/json");
  return fetch(`${server.apiUrl}${path}`, { ...init, headers });
}

describe("the Vercel API stand-in answers as the real API does", () => {
  it("names the token's user at GET /v2/user, one user per token", async () => {
    ec = await startEdgeConfigServer({
      users: { "bob-token": { id: "user_bob", username: "bob", email: "bob@example.com" } },
    });
    const alice = await (await call("/v2/user")).json();
    expect(alice.user).toMatchObject({ id: "user_local", username: "local-responder" });
    const bob = await (await call("/v2/user", { token: "bob-token" })).json();
    expect(bob.user).toMatchObject({ id: "user_bob", username: "bob", email: "bob@example.com" });
  });

  it("answers a missing token 403 missingToken, an unknown one 403 invalidToken, a revoked one 401", async () => {
    ec = await startEdgeConfigServer();
    const missing = await call("/v2/user", { token: null });
    expect(missing.status).toBe(403);
    expect(await missing.json()).toEqual({
      error: { code: "forbidden", message: "Not authorized", missingToken: true },
    });
    const unknown = await call(`/v1/edge-config/${ec.id}/items`, { token: "nope" });
    expect(unknown.status).toBe(403);
    expect((await unknown.json()).error).toMatchObject({ code: "forbidden", invalidToken: true });
    ec.revokeToken(ec.apiToken);
    const revoked = await call("/v2/user");
    expect(revoked.status).toBe(401);
    expect((await revoked.json()).error).toMatchObject({ code: "unauthorized", invalidToken: true });
  });

  it("answers an unknown store and a missing item 404 not_found", async () => {
    ec = await startEdgeConfigServer();
    const store = await call("/v1/edge-config/ecfg_other/items");
    expect(store.status).toBe(404);
    expect(await store.json()).toEqual({
      error: { code: "not_found", message: "Could not find the edge config: ecfg_other" },
    });
    const item = await call(`/v1/edge-config/${ec.id}/item/containment_kill_x`);
    expect(item.status).toBe(404);
    expect((await item.json()).error.code).toBe("not_found");
  });

  it("rate-limits with 429 rate_limited, Retry-After and the limit object, then serves again", async () => {
    ec = await startEdgeConfigServer();
    ec.rateLimitNext(1, 7);
    const limited = await call(`/v1/edge-config/${ec.id}/items`, {
      method: "PATCH",
      body: JSON.stringify({ items: [] }),
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("7");
    expect(limited.headers.get("x-ratelimit-remaining")).toBe("0");
    const body = await limited.json();
    expect(body.error).toMatchObject({ code: "rate_limited", limit: { remaining: 0, total: 60 } });
    expect(typeof body.error.limit.resetMs).toBe("number");
    expect((await call(`/v1/edge-config/${ec.id}/items`)).status).toBe(200);
  });

  it("refuses a team's store without the team, and another team's id", async () => {
    ec = await startEdgeConfigServer({ teamId: "team_a" });
    expect((await call(`/v1/edge-config/${ec.id}/items`)).status).toBe(404);
    expect((await call(`/v1/edge-config/${ec.id}/items?teamId=team_b`)).status).toBe(403);
    expect((await call(`/v1/edge-config/${ec.id}/items?teamId=team_a`)).status).toBe(200);
  });

  it("records every PATCH body with its user and answer, and answers an unknown method 405 method_unknown", async () => {
    ec = await startEdgeConfigServer();
    const body = { items: [{ operation: "update", key: "missing", value: 1 }] };
    expect(
      (await call(`/v1/edge-config/${ec.id}/items`, { method: "PATCH", body: JSON.stringify(body) })).status,
    ).toBe(404);
    expect(ec.patches).toEqual([expect.objectContaining({ user: "local-responder", body, status: 404 })]);
    const del = await call(`/v1/edge-config/${ec.id}/items`, { method: "DELETE" });
    expect(del.status).toBe(405);
    expect((await del.json()).error.code).toBe("method_unknown");
  });
});
