/**
 * A local stand-in for Vercel Edge Config: the read API that `@vercel/edge-config` calls with an
 * "external" connection string (edge-config-read-api.ts) and the Vercel REST API that writes items
 * and names the token's user (vercel-api.ts). A real HTTP server on loopback, so the real client,
 * `containment dev`, the CLI, tests and benchmarks all talk to it unmodified. Its tokens are random
 * per run unless a test names them, and it refuses what a web page or another local user can send
 * (local-guard.ts): the write API flips kill switches.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Json } from "../model/json.js";
import { handleReadApi } from "./edge-config-read-api.js";
import { EDGE_CONFIG_SIZE_LIMITS, EdgeConfigStore } from "./edge-config-state.js";
import { listen, sendJson, sleep } from "./http-util.js";
import { localRefusal } from "./local-guard.js";
import { type ApiUser, handleVercelApi, type RecordedPatch, type VercelApiState } from "./vercel-api.js";

export interface EdgeConfigServerOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Edge Config id, must start with `ecfg_` (the client relies on it to parse the URL). */
  id?: string;
  /** Default: a random secret for this run. */
  readToken?: string;
  /** The Vercel API token of the default user (`local-responder`); default: random for this run. */
  apiToken?: string;
  /** More API tokens and their users (two responders). */
  users?: Record<string, ApiUser>;
  /** When set, REST calls must carry `?teamId=` with this value (as for a team's store). */
  teamId?: string;
  items?: Record<string, Json>;
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
  /** Every PATCH body received, with the user and the status answered. */
  readonly patches: readonly RecordedPatch[];
  /**
   * Upserts one item (with `description`, Edge Config's item description); throws
   * EdgeConfigWriteError on a bad key or when over the size limit.
   */
  setItem(key: string, value: Json, description?: string): void;
  /** Removes an item; answers whether it existed. */
  deleteItem(key: string): boolean;
  /** Upserts many items atomically; with `replace`, they become the only items. */
  setItems(items: Record<string, Json>, options?: { replace?: boolean }): void;
  items(): Record<string, Json>;
  digest(): string;
  sizeBytes(): number;
  resetCounts(): void;
  /** While down, every request answers 503 (an Edge Config outage). */
  setDown(down: boolean): void;
  /** Adds latency to every response. */
  setDelay(ms: number): void;
  /** The next `count` REST calls answer 429 `rate_limited` with `Retry-After: seconds`. */
  rateLimitNext(count: number, retryAfterSeconds?: number): void;
  /** From now on the token answers 401 (revoked). */
  revokeToken(token: string): void;
  close(): Promise<void>;
}

const DEFAULT_USER: ApiUser = { id: "user_local", username: "local-responder", email: "responder@localhost" };

function apiState(
  options: EdgeConfigServerOptions,
  id: string,
  apiToken: string,
  store: EdgeConfigStore,
): VercelApiState {
  const tokens = new Map<string, ApiUser>([[apiToken, DEFAULT_USER], ...Object.entries(options.users ?? {})]);
  return {
    id,
    teamId: options.teamId,
    store,
    tokens,
    revoked: new Set(),
    patches: [],
    throttle: { count: 0, retryAfterSeconds: 1 },
  };
}

function storeHelpers(
  store: EdgeConfigStore,
): Pick<EdgeConfigServer, "setItem" | "deleteItem" | "setItems" | "items" | "digest" | "sizeBytes"> {
  return {
    setItem: (key, value, description) =>
      store.apply([
        { operation: "upsert", key, value, ...(description === undefined ? {} : { description }) },
      ]),
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
  };
}

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
  const readToken = options.readToken ?? randomBytes(24).toString("base64url");
  const apiToken = options.apiToken ?? randomBytes(24).toString("base64url");
  const store = new EdgeConfigStore(
    options.sizeLimitBytes ?? EDGE_CONFIG_SIZE_LIMITS.pro,
    options.items ?? {},
  );
  const state = apiState(options, id, apiToken, store);
  const counts = { reads: 0, writes: 0, apiReads: 0 };
  const faults = { down: false, delayMs: 0 };
  let port = 0;

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const refused = localRefusal(req, port);
    if (refused !== undefined) {
      sendJson(res, refused.status, { error: { code: refused.code, message: refused.message } });
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const isRestApi = segments[0] === "v1" || segments[0] === "v2";
    if (!isRestApi) counts.reads++;
    else if (req.method === "PATCH") counts.writes++;
    else counts.apiReads++;
    await sleep(faults.delayMs);
    if (faults.down)
      sendJson(res, 503, { error: { code: "service_unavailable", message: "Edge Config is unavailable" } });
    else if (isRestApi) await handleVercelApi(req, res, url, segments, state);
    else handleReadApi(req, res, url, segments, { id, readToken, store });
  };

  const listening = await listen(handler, options.port ?? 0);
  port = listening.port;
  return {
    url: listening.url,
    port: listening.port,
    id,
    readToken,
    apiToken,
    connectionString: `${listening.url}/${id}?token=${encodeURIComponent(readToken)}`,
    apiUrl: listening.url,
    counts,
    patches: state.patches,
    ...storeHelpers(store),
    resetCounts: () => {
      counts.reads = 0;
      counts.writes = 0;
      counts.apiReads = 0;
    },
    setDown: (value) => {
      faults.down = value;
    },
    setDelay: (ms) => {
      faults.delayMs = Math.max(0, ms);
    },
    rateLimitNext: (count, retryAfterSeconds = 1) => {
      state.throttle = { count, retryAfterSeconds };
    },
    revokeToken: (token) => state.revoked.add(token),
    close: listening.close,
  };
}
