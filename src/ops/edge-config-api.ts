/**
 * The Vercel REST API, as far as containment needs it: one Edge Config store's items (read, and
 * written only with `create` / `update` / `delete` against the item as read, never a blind
 * `upsert`), the store's metadata, and the token's user (the verified actor of audit entries).
 *
 * Every call has a deadline. A 429 is retried once when its `Retry-After` is short, else reported
 * with the wait. Every failure is one OpsError line that says what to fix; nothing half-done: a
 * PATCH is atomic at Vercel, and one that fails leaves the store as it was.
 */
import { redactSecrets } from "../core/redact.js";
import type { Json } from "../model/json.js";
import { OpsError } from "./errors.js";

export interface EdgeConfigItem {
  key: string;
  value: Json;
  createdAt?: number;
  updatedAt?: number;
  description?: string;
}

export type PatchOperation =
  | { operation: "create" | "update"; key: string; value: Json; description?: string }
  | { operation: "upsert"; key: string; value: Json }
  | { operation: "delete"; key: string };

export interface StoreInfo {
  id: string;
  slug?: string;
  digest: string;
  itemCount: number;
  sizeInBytes: number;
  updatedAt?: number;
}

export interface VercelUser {
  id: string;
  username: string;
  email?: string;
  name?: string;
}

export interface VercelApiOptions {
  /** `https://api.vercel.com` or a stand-in. */
  base: string;
  token?: string | undefined;
  teamId?: string | undefined;
  edgeConfigId: string;
  fetch?: typeof fetch;
  /** Deadline of each request; default 10 000 ms. */
  timeoutMs?: number;
  /** Longest `Retry-After` waited out once before giving up; default 10 000 ms. */
  maxRetryWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

interface VercelErrorBody {
  error?: { code?: string; message?: string; invalidToken?: boolean; missingToken?: boolean };
}

const sleeper = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class VercelApi {
  readonly base: string;
  readonly edgeConfigId: string;
  readonly #token: string | undefined;
  readonly #teamId: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #maxRetryWaitMs: number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: VercelApiOptions) {
    this.base = options.base.replace(/\/+$/, "");
    this.edgeConfigId = options.edgeConfigId;
    this.#token = options.token;
    this.#teamId = options.teamId;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxRetryWaitMs = options.maxRetryWaitMs ?? 10_000;
    this.#sleep = options.sleep ?? sleeper;
  }

  get hasToken(): boolean {
    return this.#token !== undefined && this.#token !== "";
  }

  /** Store metadata: digest, item count, size in bytes. */
  async store(): Promise<StoreInfo> {
    return (await this.#call("GET", this.#storePath(""), "the Edge Config store")) as StoreInfo;
  }

  async items(): Promise<EdgeConfigItem[]> {
    const body = await this.#call("GET", this.#storePath("/items"), "the Edge Config items");
    if (!Array.isArray(body)) throw this.#malformed("GET items");
    return body as EdgeConfigItem[];
  }

  /** One item, or undefined when the store has no such key. */
  async item(key: string): Promise<EdgeConfigItem | undefined> {
    try {
      return (await this.#call(
        "GET",
        this.#storePath(`/item/${encodeURIComponent(key)}`),
        `item ${key}`,
      )) as EdgeConfigItem;
    } catch (error) {
      if (error instanceof OpsError && error.code === "ERR_NOT_FOUND" && error.details.item === true)
        return undefined;
      throw error;
    }
  }

  /** Applies operations atomically. `create` on an existing key or `update`/`delete` of a missing one is ERR_CONFLICT. */
  async patch(operations: readonly PatchOperation[]): Promise<void> {
    await this.#call("PATCH", this.#storePath("/items"), "the Edge Config items", { items: operations });
  }

  /** The user the token belongs to (`GET /v2/user`). */
  async user(): Promise<VercelUser> {
    const body = (await this.#call("GET", "/v2/user", "the token's user")) as { user?: VercelUser };
    if (body.user === undefined || typeof body.user.id !== "string") throw this.#malformed("GET /v2/user");
    return body.user;
  }

  #storePath(rest: string): string {
    return `/v1/edge-config/${encodeURIComponent(this.edgeConfigId)}${rest}`;
  }

  #url(path: string): string {
    const url = new URL(this.base + path);
    if (this.#teamId !== undefined && path.startsWith("/v1/")) url.searchParams.set("teamId", this.#teamId);
    return url.toString();
  }

  async #call(method: string, path: string, what: string, body?: unknown): Promise<unknown> {
    if (!this.hasToken)
      throw new OpsError(
        "ERR_AUTH",
        "no Vercel API token: set VERCEL_TOKEN (a token with access to the store's team)",
      );
    for (let attempt = 0; ; attempt++) {
      const response = await this.#send(method, path, body);
      if (response.ok) return this.#json(response, method, path);
      const wait = retryAfterMs(response);
      if (response.status === 429 && attempt === 0 && wait <= this.#maxRetryWaitMs) {
        await response.body?.cancel();
        await this.#sleep(wait);
        continue;
      }
      throw await this.#failure(response, method, path, what, wait);
    }
  }

  async #send(method: string, path: string, body: unknown): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    try {
      return await this.#fetch(this.#url(path), {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      const timedOut =
        error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
      const reason = timedOut
        ? `no answer within ${this.#timeoutMs} ms`
        : redactSecrets(networkReason(error));
      // VERCEL_API_URL may carry credentials (a proxy's user:password): shown masked.
      throw new OpsError(
        "ERR_UNAVAILABLE",
        `cannot reach the Vercel API at ${redactSecrets(this.base)} (${reason}): check the network and try again${method === "GET" ? "" : "; re-run `containment list` to see whether the change was applied"}`,
        { method, timedOut },
      );
    }
  }

  async #json(response: Response, method: string, path: string): Promise<unknown> {
    try {
      return await response.json();
    } catch {
      throw this.#malformed(`${method} ${path}`);
    }
  }

  #malformed(call: string): OpsError {
    return new OpsError(
      "ERR_UNAVAILABLE",
      `the Vercel API answered ${call} with an unexpected body: try again`,
    );
  }

  async #failure(
    response: Response,
    method: string,
    path: string,
    what: string,
    wait: number,
  ): Promise<OpsError> {
    let body: VercelErrorBody = {};
    try {
      body = (await response.json()) as VercelErrorBody;
    } catch {
      // A proxy's HTML error page: the status alone decides.
    }
    const code = body.error?.code ?? "";
    const said = redactSecrets((body.error?.message ?? response.statusText).slice(0, 300));
    const status = response.status;
    const details = { status, apiCode: code };
    if (status === 401 || status === 403)
      return new OpsError(
        "ERR_AUTH",
        `the Vercel API refused the token (${status} ${code || "forbidden"}: ${said}): check VERCEL_TOKEN${this.#teamId === undefined ? " and set VERCEL_TEAM_ID if the store belongs to a team" : ` and that it can act for team ${this.#teamId}`}`,
        details,
      );
    if (status === 429)
      return new OpsError(
        "ERR_RATE_LIMITED",
        `the Vercel API is rate-limiting these requests (429): nothing was changed; try again in ${Math.ceil(wait / 1000)} s`,
        { ...details, retryAfterMs: wait },
      );
    if (status === 404 && method === "GET" && path.includes("/item/"))
      return new OpsError("ERR_NOT_FOUND", `no ${what}`, { ...details, item: true });
    if (status === 404 && method === "PATCH" && !/edge.?config/i.test(said))
      return new OpsError(
        "ERR_CONFLICT",
        `the item changed meanwhile (${said}): nothing was changed; re-run to act on it as it is now`,
        details,
      );
    // A store the token cannot see is configuration (exit 3), not an unknown id the responder named.
    if (status === 404)
      return new OpsError(
        "ERR_CONFIG",
        `the Vercel API has no Edge Config store ${this.edgeConfigId} for this token (${said}): check EDGE_CONFIG_ID${this.#teamId === undefined ? " and VERCEL_TEAM_ID" : ""}`,
        details,
      );
    if (status === 409)
      return new OpsError(
        "ERR_CONFLICT",
        `the item changed meanwhile (${said}): nothing was changed; re-run to act on it as it is now`,
        details,
      );
    if (status >= 400 && status < 500)
      return new OpsError(
        "ERR_REJECTED",
        `the Vercel API rejected the change (${status} ${code}: ${said}): nothing was changed`,
        details,
      );
    return new OpsError(
      "ERR_UNAVAILABLE",
      `the Vercel API failed (${status} ${code}: ${said}): nothing was changed; try again`,
      details,
    );
  }
}

/** `Retry-After` (seconds or an HTTP date), else `x-ratelimit-reset` (epoch seconds), else 1 s. */
export function retryAfterMs(response: Response, now = Date.now()): number {
  const header = response.headers.get("retry-after");
  if (header !== null) {
    const seconds = Number(header);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(header);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  const reset = Number(response.headers.get("x-ratelimit-reset"));
  if (Number.isFinite(reset) && reset > 0) return Math.max(0, reset * 1000 - now);
  return 1000;
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
