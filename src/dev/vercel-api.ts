/**
 * A stand-in for the parts of the Vercel REST API (api.vercel.com) that containment calls, with
 * the real API's answers for the failures a responder meets:
 *   GET   /v2/user                            the token's user
 *   GET   /v1/edge-config/:id                 metadata incl. digest, itemCount, sizeInBytes
 *   GET   /v1/edge-config/:id/items           [{ key, value, description?, edgeConfigId, createdAt, updatedAt }]
 *   GET   /v1/edge-config/:id/item/:key
 *   PATCH /v1/edge-config/:id/items           { items: [{ operation, key, value }] } → { status: "ok" }
 * Errors are `{ error: { code, message, … } }` (Vercel's documented shape): 403 `forbidden` for a
 * missing or unknown token (with `missingToken` / `invalidToken`, as the API marks them), 401
 * `unauthorized` for a revoked token, 403 for a team the token cannot act for, 404 `not_found`,
 * 429 `rate_limited` with `limit {remaining, reset, resetMs, total}`, `Retry-After` and
 * `X-RateLimit-*` headers, 405 `method_unknown`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { timingSafeEqual } from "../core/hash.js";
import {
  type EdgeConfigStore,
  EdgeConfigWriteError,
  type ItemRecord,
  parsePatchBody,
} from "./edge-config-state.js";
import { bearerToken, readBody, sendJson } from "./http-util.js";

export interface ApiUser {
  id: string;
  username: string;
  email: string;
  name?: string;
}

export interface RecordedPatch {
  at: number;
  user: string;
  body: unknown;
  status: number;
}

export interface VercelApiState {
  id: string;
  teamId: string | undefined;
  store: EdgeConfigStore;
  /** token → user; each token may act for the store's team. */
  tokens: Map<string, ApiUser>;
  revoked: Set<string>;
  patches: RecordedPatch[];
  /** The next `count` requests answer 429 with this Retry-After (seconds). */
  throttle: { count: number; retryAfterSeconds: number };
}

type Reply = [number, unknown, Record<string, string>?];

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function authenticate(req: IncomingMessage, state: VercelApiState): ApiUser {
  const token = bearerToken(req);
  if (token === undefined) throw new ApiError(403, "forbidden", "Not authorized", { missingToken: true });
  for (const revoked of state.revoked)
    if (timingSafeEqual(token, revoked))
      throw new ApiError(401, "unauthorized", "The token provided has been revoked or has expired", {
        invalidToken: true,
      });
  for (const [known, user] of state.tokens) if (timingSafeEqual(token, known)) return user;
  throw new ApiError(403, "forbidden", "Not authorized", { invalidToken: true });
}

function throttled(state: VercelApiState): void {
  if (state.throttle.count <= 0) return;
  state.throttle.count--;
  const seconds = state.throttle.retryAfterSeconds;
  const resetMs = Date.now() + seconds * 1000;
  throw new ApiError(
    429,
    "rate_limited",
    `The rate limit of 60 exceeded for 'edge-config-items-patch'. Try again in ${seconds} seconds`,
    { limit: { remaining: 0, reset: Math.ceil(resetMs / 1000), resetMs, total: 60 } },
    {
      "retry-after": String(seconds),
      "x-ratelimit-limit": "60",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": String(Math.ceil(resetMs / 1000)),
    },
  );
}

function checkTeam(url: URL, state: VercelApiState): void {
  const teamId = url.searchParams.get("teamId");
  if (teamId !== null && teamId !== (state.teamId ?? teamId))
    throw new ApiError(403, "forbidden", "You don't have permission to access this team");
  if (teamId === null && state.teamId !== undefined)
    throw new ApiError(404, "not_found", `Could not find the edge config: ${state.id}`);
}

const restItem = (state: VercelApiState, key: string, record: ItemRecord) => ({
  key,
  ...record,
  edgeConfigId: state.id,
});

async function patchItems(req: IncomingMessage, state: VercelApiState, user: ApiUser): Promise<Reply> {
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    throw new ApiError(400, "bad_request", "Invalid request: body must be JSON");
  }
  const recorded: RecordedPatch = { at: Date.now(), user: user.username, body, status: 200 };
  state.patches.push(recorded);
  try {
    state.store.apply(parsePatchBody(body));
  } catch (error) {
    if (!(error instanceof EdgeConfigWriteError)) throw error;
    recorded.status = error.status;
    throw new ApiError(error.status, error.code, error.message);
  }
  return [200, { status: "ok" }];
}

async function edgeConfigRoute(
  req: IncomingMessage,
  url: URL,
  segments: string[],
  state: VercelApiState,
  user: ApiUser,
): Promise<Reply> {
  const [configId, resource, key, ...rest] = segments;
  checkTeam(url, state);
  if (configId !== state.id)
    throw new ApiError(404, "not_found", `Could not find the edge config: ${configId ?? ""}`);
  const method = req.method ?? "GET";
  if (rest.length > 0) throw new ApiError(404, "not_found", "The requested endpoint does not exist");
  if (resource === undefined && method === "GET")
    return [
      200,
      {
        id: state.id,
        slug: state.id,
        digest: state.store.digest,
        itemCount: state.store.size,
        sizeInBytes: state.store.sizeBytes(),
        updatedAt: state.store.updatedAt,
      },
    ];
  if (resource === "items" && key === undefined && method === "GET")
    return [200, state.store.entries().map(([k, record]) => restItem(state, k, record))];
  if (resource === "item" && key !== undefined && method === "GET") {
    const record = state.store.record(key);
    if (record === undefined) throw new ApiError(404, "not_found", `Could not find the item: ${key}`);
    return [200, restItem(state, key, record)];
  }
  if (resource === "items" && key === undefined && method === "PATCH") return patchItems(req, state, user);
  throw new ApiError(
    405,
    "method_unknown",
    `This endpoint only responds to ${resource === "items" ? "GET, PATCH" : "GET"}`,
  );
}

function userRoute(user: ApiUser): Reply {
  return [
    200,
    { user: { ...user, name: user.name ?? user.username, avatar: null, defaultTeamId: null, createdAt: 0 } },
  ];
}

/** Handles a request under `/v1/…` or `/v2/…`; answers every failure as the real API would. */
export async function handleVercelApi(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  segments: string[],
  state: VercelApiState,
): Promise<void> {
  try {
    throttled(state);
    const user = authenticate(req, state);
    const [version, collection, ...rest] = segments;
    let reply: Reply;
    if (version === "v2" && collection === "user" && rest.length === 0 && req.method === "GET")
      reply = userRoute(user);
    else if (version === "v1" && collection === "edge-config")
      reply = await edgeConfigRoute(req, url, rest, state, user);
    else throw new ApiError(404, "not_found", "The requested endpoint does not exist");
    sendJson(res, reply[0], reply[1], reply[2] ?? {});
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    sendJson(
      res,
      error.status,
      { error: { code: error.code, message: error.message, ...error.extra } },
      error.headers,
    );
  }
}
