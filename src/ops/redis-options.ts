/**
 * What both responder Redis clients (redis-rest.ts, redis-tcp.ts) take besides the endpoint: their
 * deadlines, and the settings a failure message points the responder at.
 */

/** Deadlines of every call; a dead Redis fails within them instead of hanging. */
export interface RedisDeadlines {
  /** Opening the TCP (and TLS) connection; default 3 000 ms. */
  connectTimeoutMs?: number;
  /** One command (one HTTP request over REST), from the call to its reply; default 5 000 ms. */
  commandTimeoutMs?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

/**
 * Where the failure messages send the responder: the setting that holds the URL and the one
 * that holds the credential (the same for `redis://`, whose URL carries the password).
 */
export interface RedisSettings {
  url: string;
  credential: string;
}
