/**
 * The Edge Config read API that `@vercel/edge-config` calls with an "external" connection string
 * (from @vercel/edge-config 1.5 dist/index.js):
 *   GET  /:id/items?version=1[&key=a&key=b]   all items, or a selection
 *   GET  /:id/item/:key?version=1             one item; 404 + x-edge-config-digest = "no such key"
 *   HEAD /:id/item/:key?version=1             has()
 *   GET  /:id/digest?version=1                the digest as a JSON string
 * with `Authorization: Bearer <read token>` and `If-None-Match` once it holds an ETag.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { timingSafeEqual } from "../core/hash.js";
import type { EdgeConfigStore } from "./edge-config-state.js";
import { bearerToken, sendJson } from "./http-util.js";

const DIGEST_HEADER = "x-edge-config-digest";

export interface ReadApiContext {
  id: string;
  readToken: string;
  store: EdgeConfigStore;
}

function refusal(
  req: IncomingMessage,
  ctx: ReadApiContext,
  configId: string | undefined,
  url: URL,
): [number, string, string] | undefined {
  // Unknown config: 404 *without* the digest header, which the client reads as "Edge Config not found".
  if (configId !== ctx.id) return [404, "edge_config_not_found", "Could not find the edge config"];
  if (!timingSafeEqual(bearerToken(req) ?? "", ctx.readToken)) return [401, "unauthorized", "Invalid token"];
  if (req.method !== "GET" && req.method !== "HEAD")
    return [405, "method_not_allowed", `${req.method} is not allowed`];
  const version = url.searchParams.get("version");
  if (version !== null && version !== "1") return [400, "bad_request", `Unsupported version "${version}"`];
  return undefined;
}

export function handleReadApi(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  segments: string[],
  ctx: ReadApiContext,
): void {
  const [configId, resource, key, ...rest] = segments;
  const refused = refusal(req, ctx, configId, url);
  if (refused !== undefined) {
    const [status, code, message] = refused;
    sendJson(res, status, { error: { code, message } });
    return;
  }
  const digestHeader = { [DIGEST_HEADER]: ctx.store.digest };
  if (resource === "items" && key === undefined) {
    const keys = url.searchParams.getAll("key");
    sendCacheable(req, res, ctx.store.items(keys.length > 0 ? keys : undefined), digestHeader);
  } else if (resource === "digest" && key === undefined) {
    sendCacheable(req, res, ctx.store.digest, digestHeader);
  } else if (resource === "item" && key !== undefined && rest.length === 0) {
    const value = ctx.store.get(key);
    // 404 *with* the digest header is the client's "no such key" signal (get → undefined, has → false).
    if (value === undefined)
      sendJson(res, 404, { error: { code: "not_found", message: `Item "${key}" not found` } }, digestHeader);
    else sendCacheable(req, res, value, digestHeader);
  } else {
    sendJson(res, 404, { error: { code: "not_found", message: "Not found" } }, digestHeader);
  }
}

/**
 * Answers 200 with an ETag, or 304 when the client's If-None-Match still matches: the client caches
 * bodies per URL and replays them on 304, so the ETag must change exactly when the body does.
 */
function sendCacheable(
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  headers: Record<string, string>,
): void {
  const text = JSON.stringify(body);
  const etag = `"${createHash("sha1").update(text).digest("hex")}"`;
  if (etagMatches(req.headers["if-none-match"], etag)) {
    res.writeHead(304, { etag, ...headers });
    res.end();
    return;
  }
  res.writeHead(200, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    etag,
    ...headers,
  });
  // Node drops the body of a HEAD response by itself; the headers stay identical to GET.
  res.end(text);
}

function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === "*") return true;
  return ifNoneMatch.split(",").some((candidate) => candidate.trim().replace(/^W\//, "") === etag);
}
