/**
 * The responder side's Redis contract: the commands src/ops, src/dashboard, src/cli and the mirror's
 * reader (stores/mirror/reader.ts) run, with one reply shape each, whichever client carries them.
 * Two implementations: `restRedis` (ops/redis-rest.ts, `@upstash/redis` over Upstash REST; runs
 * wherever `fetch` does, so the mounted dashboard can use it at the edge) and `tcpRedis`
 * (ops/redis-tcp.ts, ioredis over `redis://` or `rediss://`). test/ops/redis-contract.test.ts runs
 * the same cases against both.
 *
 * Exactness: values are returned as Redis stored them (no JSON guessing: audit entries are compared
 * byte for byte); integers are numbers; a missing hash is `null`, like a missing string.
 *
 * Failures: every call has a deadline, and a failure is one line naming the endpoint with its
 * password masked (ops/redis-failure.ts): unreachable → ERR_UNAVAILABLE, credentials or rights
 * refused → ERR_AUTH. Never the client's own error, which can carry the command (Lua source, values).
 */

/** A stream entry as XRANGE returns it: id, then field, value, field, value… in stored order. */
export type StreamEntry = [id: string, fields: string[]];

/** A sorted-set member and its score (`inf` / `-inf` as ±Infinity). */
export type ScoredMember = [member: string, score: number];

/** What a Lua script returns: strings, integers, nil, and tables of those (nested). */
export type EvalReply = string | number | null | EvalReply[];

export interface ResponderRedis {
  ping(): Promise<string>;
  get(key: string): Promise<string | null>;
  mget(keys: readonly string[]): Promise<Array<string | null>>;
  del(...keys: string[]): Promise<number>;
  /** ms left; -1 without expiry, -2 when the key does not exist. */
  pttl(key: string): Promise<number>;
  pexpire(key: string, ms: number): Promise<boolean>;
  persist(key: string): Promise<boolean>;
  /** COPY … REPLACE; false when the source does not exist. */
  copy(source: string, target: string): Promise<boolean>;
  /** Every field, or `null` when the hash does not exist. */
  hgetall(key: string): Promise<Record<string, string> | null>;
  hset(key: string, fields: Readonly<Record<string, string>>): Promise<number>;
  hsetnx(key: string, field: string, value: string): Promise<boolean>;
  hdel(key: string, ...fields: string[]): Promise<number>;
  sadd(key: string, ...members: string[]): Promise<number>;
  smembers(key: string): Promise<string[]>;
  /** ZRANGE … WITHSCORES, by rank (`0, -1`), or `byScore` (`"-inf"`, `"+inf"`, `"(5"`). */
  zrangeWithScores(
    key: string,
    start: number | string,
    stop: number | string,
    options?: { byScore?: boolean },
  ): Promise<ScoredMember[]>;
  /** XADD with an explicit id; fields as `[field, value, …]` in the order to store. */
  xadd(key: string, id: string, fields: readonly string[]): Promise<string>;
  xrange(key: string, start: string, end: string, count: number): Promise<StreamEntry[]>;
  xrevrange(key: string, end: string, start: string, count: number): Promise<StreamEntry[]>;
  xlen(key: string): Promise<number>;
  /** One SCAN step: the next cursor (`"0"` when done) and the keys of this step. */
  scan(cursor: string, match: string, count: number): Promise<[cursor: string, keys: string[]]>;
  eval(script: string, keys: readonly string[], args: readonly string[]): Promise<EvalReply>;
  /** Ends the connection (TCP); nothing to do over REST. Never throws. */
  close(): Promise<void>;
}
