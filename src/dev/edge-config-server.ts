/**
 * A local stand-in for Vercel Edge Config: the read API that `@vercel/edge-config` calls with an
 * "external" connection string, and the Vercel REST API that writes items. A real HTTP server on
 * loopback, so the real client, `containment dev`, tests and benchmarks all talk to it unmodified.
 *
 * Read API (what the client sends, from @vercel/edge-config 1.5 dist/index.js):
 *   GET  /:id/items?version=1[&key=a&key=b]   all items, or a selection
 *   GET  /:id/item/:key?version=1             one item; 404 + x-edge-config-digest = "no such key"
 *   HEAD /:id/item/:key?version=1             has()
 *   GET  /:id/digest?version=1                the digest as a JSON string
 * with `Authorization: Bearer <read token>`, `If-None-Match` once it holds an ETag, and
 * `x-edge-config-min-updated-at` for consistent reads (always satisfied here: one replica).
 *
 * REST API (like api.vercel.com), with a separate API token:
 *   GET   /v1/edge-config/:id                 metadata incl. digest, itemCount, sizeInBytes
 *   GET   /v1/edge-config/:id/items           [{ key, value, description?, edgeConfigId, createdAt, updatedAt }]
 *   GET   /v1/edge-config/:id/item/:key
 *   PATCH /v1/edge-config/:id/items           { items: [{ operation, key, value }] } → { status: "ok" }
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { timingSafeEqual } from "../core/hash.js";
import {
  EDGE_CONFIG_SIZE_LIMITS,
  EdgeConfigStore,
  EdgeConfigWriteError,
  type ItemRecord,
  type JsonValue,
  parsePatchBody,
} from "./edge-config-store.js";
import { bearerToken, listen, readBody, sendJson, sleep } from "./http-util.js";

export type { JsonValue } from "./edge-config-store.js";
export { EDGE_CONFIG_SIZE_LIMITS, EdgeConfigWriteError } from "./edge-config-store.js";

export interface EdgeConfigServerOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Edge Config id, must start with `ecfg_` (the client relies on it to parse the URL). */
  id?: string;
  readToken?: string;
  apiToken?: string;
  items?: Record<string, JsonValue>;
  /** Limit on the JSON size of all items; default 64 KB (Vercel Pro). */
  sizeLimitBytes?: number;
}

export interface EdgeConfigServer {
  /** Base URL, e.g. `http://127.0.0.1:4123`. */
  readonly url: string;
  readonly port: number;
  readonly id: string;
  readonly readToken: string;
  readonly apiToken: string;
  /** What `createClient` (or `EDGE_CONFIG`) takes: `${url}/${id}?token=${readToken}`. */
  readonly connectionString: string;
  /** Stands in for `https://api.vercel.com`: write with `PATCH ${apiUrl}/v1/edge-config/${id}/items`. */
  readonly apiUrl: string;
  /** Round trips served; benchmarks read these. `reads`: read API; `writes`: PATCH; `apiReads`: REST GETs. */
  readonly counts: { reads: number; writes: number; apiReads: number };
  /** Upserts one item; throws EdgeConfigWriteError on a bad key or when over the size limit. */
  setItem(key: string, value: JsonValue): void;
  /** Removes an item; answers whether it existed. */
  deleteItem(key: string): boolean;
  /** Upserts many items atomically; with `replace`, they become the only items. */
  setItems(items: Record<string, JsonValue>, options?: { replace?: boolean }): void;
  items(): Record<string, JsonValue>;
  digest(): string;
  sizeBytes(): number;
  resetCounts(): void;
  /** While down, every request answers 503 (an Edge Config outage). */
  setDown(down: boolean): void;
  /** Adds latency to every response. */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

const DIGEST_HEADER = "x-edge-config-digest";

/**
 * Starts the stand-in.
 *
 * @example
 * const ec = await startEdgeConfigServer({ items: { containment: rules } });
 * const client = createClient(ec.connectionString);
 * await client.get("containment");
 * await ec.close();
 */
export async function startEdgeConfigServer(
  options: EdgeConfigServerOptions = {},
): Promise<EdgeConfigServer> {
  const id = options.id ?? "ecfg_local";
  if (!id.startsWith("ecfg_"))
    throw new Error(`edge-containment: Edge Config id must start with "ecfg_", got "${id}"`);
  const readToken = options.readToken ?? "local-read-token";
  const apiToken = options.apiToken ?? "local-api-token";
  const store = new EdgeConfigStore(
    options.sizeLimitBytes ?? EDGE_CONFIG_SIZE_LIMITS.pro,
    options.items ?? {},
  );
  const counts = { reads: 0, writes: 0, apiReads: 0 };
  let down = false;
  let delayMs = 0;

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const isRestApi = segments[0] === "v1";
    if (!isRestApi) counts.reads++;
    else if (req.method === "PATCH") counts.writes++;
    else counts.apiReads++;

    await sleep(delayMs);
    if (down) {
      sendJson(res, 503, { error: { code: "service_unavailable", message: "Edge Config is unavailable" } });
      return;
    }
    if (isRestApi) await handleRestApi(req, res, segments.slice(1));
    else handleReadApi(req, res, url, segments);
  };

  const handleReadApi = (req: IncomingMessage, res: ServerResponse, url: URL, segments: string[]): void => {
    const [configId, resource, key, ...rest] = segments;
    // Unknown config: 404 *without* the digest header, which the client reads as "Edge Config not found".
    if (configId !== id) {
      sendJson(res, 404, {
        error: { code: "edge_config_not_found", message: "Could not find the edge config" },
      });
      return;
    }
    if (!timingSafeEqual(bearerToken(req) ?? "", readToken)) {
      sendJson(res, 401, { error: { code: "unauthorized", message: "Invalid token" } });
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendJson(res, 405, { error: { code: "method_not_allowed", message: `${req.method} is not allowed` } });
      return;
    }
    const version = url.searchParams.get("version");
    if (version !== null && version !== "1") {
      sendJson(res, 400, { error: { code: "bad_request", message: `Unsupported version "${version}"` } });
      return;
    }
    const digestHeader = { [DIGEST_HEADER]: store.digest };
    if (resource === "items" && key === undefined) {
      const keys = url.searchParams.getAll("key");
      sendCacheable(req, res, store.items(keys.length > 0 ? keys : undefined), digestHeader);
    } else if (resource === "digest" && key === undefined) {
      sendCacheable(req, res, store.digest, digestHeader);
    } else if (resource === "item" && key !== undefined && rest.length === 0) {
      const value = store.get(key);
      if (value === undefined) {
        // 404 *with* the digest header is the client's "no such key" signal (get → undefined, has → false).
        sendJson(
          res,
          404,
          { error: { code: "not_found", message: `Item "${key}" not found` } },
          digestHeader,
        );
      } else {
        sendCacheable(req, res, value, digestHeader);
      }
    } else {
      sendJson(res, 404, { error: { code: "not_found", message: "Not found" } }, digestHeader);
    }
  };

  const handleRestApi = async (
    req: IncomingMessage,
    res: ServerResponse,
    segments: string[],
  ): Promise<void> => {
    const [collection, configId, resource, key, ...rest] = segments;
    if (collection !== "edge-config") {
      sendVercelError(
        res,
        new EdgeConfigWriteError(404, "not_found", "The requested endpoint does not exist"),
      );
      return;
    }
    // Vercel's REST API answers a missing or wrong token with 403 forbidden.
    if (!timingSafeEqual(bearerToken(req) ?? "", apiToken)) {
      sendVercelError(res, new EdgeConfigWriteError(403, "forbidden", "Not authorized"));
      return;
    }
    if (configId !== id) {
      sendVercelError(res, new EdgeConfigWriteError(404, "not_found", "Edge Config not found"));
      return;
    }
    if (rest.length > 0) {
      sendVercelError(
        res,
        new EdgeConfigWriteError(404, "not_found", "The requested endpoint does not exist"),
      );
      return;
    }
    const method = req.method ?? "GET";
    if (resource === undefined && method === "GET") {
      sendJson(res, 200, {
        id,
        slug: id,
        digest: store.digest,
        itemCount: store.size,
        sizeInBytes: store.sizeBytes(),
        updatedAt: store.updatedAt,
      });
    } else if (resource === "items" && key === undefined && method === "GET") {
      sendJson(
        res,
        200,
        store.entries().map(([k, record]) => restItem(k, record)),
      );
    } else if (resource === "item" && key !== undefined && method === "GET") {
      const record = store.record(key);
      if (record === undefined) {
        sendVercelError(res, new EdgeConfigWriteError(404, "not_found", `Item "${key}" not found`));
      } else {
        sendJson(res, 200, restItem(key, record));
      }
    } else if (resource === "items" && key === undefined && method === "PATCH") {
      try {
        let body: unknown;
        try {
          body = JSON.parse(await readBody(req));
        } catch {
          throw new EdgeConfigWriteError(400, "bad_request", "Invalid request: body must be JSON");
        }
        store.apply(parsePatchBody(body));
        sendJson(res, 200, { status: "ok" });
      } catch (error) {
        if (!(error instanceof EdgeConfigWriteError)) throw error;
        sendVercelError(res, error);
      }
    } else {
      sendVercelError(
        res,
        new EdgeConfigWriteError(405, "method_not_allowed", `${method} is not allowed here`),
      );
    }
  };

  const restItem = (key: string, record: ItemRecord) => ({ key, ...record, edgeConfigId: id });

  const listening = await listen(handler, options.port ?? 0);
  return {
    url: listening.url,
    port: listening.port,
    id,
    readToken,
    apiToken,
    connectionString: `${listening.url}/${id}?token=${encodeURIComponent(readToken)}`,
    apiUrl: listening.url,
    counts,
    setItem: (key, value) => store.apply([{ operation: "upsert", key, value }]),
    deleteItem: (key) => {
      if (!store.has(key)) return false;
      store.apply([{ operation: "delete", key }]);
      return true;
    },
    setItems: (items, setOptions = {}) => {
      const upserts = Object.entries(items).map(([key, value]) => ({
        operation: "upsert" as const,
        key,
        value,
      }));
      const deletes = setOptions.replace
        ? Object.keys(store.items())
            .filter((key) => !(key in items))
            .map((key) => ({ operation: "delete" as const, key }))
        : [];
      store.apply([...deletes, ...upserts]);
    },
    items: () => store.items(),
    digest: () => store.digest,
    sizeBytes: () => store.sizeBytes(),
    resetCounts: () => {
      counts.reads = 0;
      counts.writes = 0;
      counts.apiReads = 0;
    },
    setDown: (value) => {
      down = value;
    },
    setDelay: (ms) => {
      delayMs = Math.max(0, ms);
    },
    close: listening.close,
  };
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

function sendVercelError(res: ServerResponse, error: EdgeConfigWriteError): void {
  sendJson(res, error.status, { error: { code: error.code, message: error.message } });
}
