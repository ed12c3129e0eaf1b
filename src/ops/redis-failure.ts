/**
 * A failed Redis call as the responder reads it: one line naming the endpoint (password masked),
 * what went wrong in a few words, and the setting to check. Both clients' errors pass through
 * `redisFailure`; the client's own message never reaches the responder, because @upstash/redis puts
 * the whole command (Lua source, values written) in its messages and a URL can carry a password.
 *
 *   unreachable (refused, DNS, timeout, TLS, reset,
 *   a REST endpoint without its Redis)                ERR_UNAVAILABLE  exit 4
 *   credentials or rights refused (WRONGPASS, NOPERM) ERR_AUTH         exit 3
 *   a command refused (WRONGTYPE, a script error, OOM) ERR_UNAVAILABLE  exit 4
 */
import { redactSecrets } from "../core/redact.js";
import { OpsError } from "./errors.js";
import type { RedisSettings } from "./redis-options.js";

export interface FailureContext {
  /** The endpoint as shown: `redactSecrets` of the URL. */
  endpoint: string;
  settings: RedisSettings;
  commandTimeoutMs: number;
  /** `rediss://`: a connect timeout may be a TLS handshake that never finished. */
  tls?: boolean;
  /** The connection's last error event (ioredis reports why a connection closed only there). */
  lastConnectionError?: unknown;
}

const NETWORK: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found (DNS did not answer)",
  EAI_NONAME: "host not found",
  ETIMEDOUT: "connection timed out",
  ECONNRESET: "connection reset",
  EPIPE: "connection reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ECONNABORTED: "connection aborted",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  UND_ERR_SOCKET: "connection reset",
};

const AUTH_REPLY = /^(WRONGPASS|NOAUTH|NOPERM)\b/;
// Upstash answers a wrong REST token 401 `Unauthorized` (the dev bridge too).
const REST_AUTH = /^(Unauthorized|WRONGPASS|NOAUTH|NOPERM)\b|invalid .*token|missing .*token/i;

interface Shape {
  name?: string;
  code?: string;
  message?: string;
  cause?: unknown;
  errors?: unknown[];
}

/** The error and its causes, outermost first (fetch wraps the socket error; happy eyeballs aggregates). */
function chain(error: unknown): Shape[] {
  const out: Shape[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === "object"; depth++) {
    const shape = current as Shape;
    out.push(shape);
    current = shape.cause ?? (Array.isArray(shape.errors) ? shape.errors[0] : undefined);
  }
  return out;
}

/** The client's message without what @upstash/redis appends (`, command was: […]`) or a script's trailer. */
function replyText(message: string): string {
  const first = (message.split("\n")[0] ?? "").replace(/^Command failed: /, "");
  return first
    .replace(/,? command was: .*$/, "")
    .replace(/ script: [0-9a-f]{40}.*$/, "")
    .slice(0, 160)
    .trim();
}

function tlsReason(shape: Shape): string | undefined {
  const code = shape.code ?? "";
  const message = shape.message ?? "";
  if (
    /^ERR_(SSL|TLS)_|CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET)|^EPROTO$/.test(code) ||
    /\bSSL\b|\bTLS\b/.test(message)
  )
    return `TLS handshake failed: ${code || "see the server's certificate"}`;
  return undefined;
}

/** Why the connection failed, in a few words; undefined when the error is not a connection failure. */
function connectionReason(error: unknown, ctx: FailureContext): string | undefined {
  for (const shape of [...chain(error), ...chain(ctx.lastConnectionError)]) {
    const tls = tlsReason(shape);
    if (tls !== undefined) return tls;
    if (shape.code === "ETIMEDOUT" && ctx.tls) return "connection or TLS handshake timed out";
    if (shape.code !== undefined && NETWORK[shape.code] !== undefined) return NETWORK[shape.code];
    if (shape.name === "TimeoutError" || /Command timed out/.test(shape.message ?? ""))
      return `no answer within ${ctx.commandTimeoutMs} ms`;
  }
  return undefined;
}

function authReason(error: unknown, rest: boolean): string | undefined {
  for (const shape of [...chain(error)]) {
    const said = replyText(shape.message ?? "");
    if ((rest ? REST_AUTH : AUTH_REPLY).test(said)) return said;
  }
  return undefined;
}

/**
 * The OpsError for a failed call. `command` is the Redis command's name (EVAL, XRANGE…), never its
 * arguments.
 */
export function redisFailure(error: unknown, command: string, ctx: FailureContext, rest: boolean): OpsError {
  if (error instanceof OpsError) return error;
  const at = ctx.endpoint;
  const details = { endpoint: at, command };
  const auth = authReason(error, rest) ?? authReason(ctx.lastConnectionError, rest);
  if (auth !== undefined) {
    const reason = redactSecrets(auth);
    if (/^NOPERM/.test(auth))
      return new OpsError(
        "ERR_AUTH",
        `Redis at ${at} refused ${command} to this user (${reason}): give it the responder's rights (containment doctor --print-acl)`,
        { ...details, reason },
      );
    return new OpsError(
      "ERR_AUTH",
      `Redis at ${at} refused the credentials (${reason}): check ${ctx.settings.credential}`,
      { ...details, reason },
    );
  }
  // A REST endpoint that answers but cannot reach its Redis (the dev bridge: 503 `ERR Redis
  // unavailable: …`) is an outage too, not a command Redis refused.
  const unreachable =
    connectionReason(error, ctx) ??
    (rest && /^ERR Redis unavailable\b/.test(replyText(chain(error)[0]?.message ?? ""))
      ? "unavailable behind its REST endpoint"
      : undefined);
  if (unreachable !== undefined || /Connection is closed|max retries per request/i.test(String(error)))
    return new OpsError(
      "ERR_UNAVAILABLE",
      `cannot reach Redis at ${at} (${unreachable ?? "connection closed"}): check ${ctx.settings.url} and that the server is up`,
      { ...details, reason: unreachable ?? "connection closed" },
    );
  const shape = chain(error)[0];
  const reason =
    shape?.name === "UpstashJSONParseError"
      ? "an answer that is not Upstash REST JSON"
      : redactSecrets(replyText(shape?.message ?? String(error))) || "no reason given";
  return new OpsError(
    "ERR_UNAVAILABLE",
    `Redis at ${at} failed ${command} (${reason}): check the server (memory, a read-only replica, the key's type) and try again`,
    { ...details, reason },
  );
}
