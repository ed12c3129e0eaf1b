/**
 * The rate-limit algorithms, once, as Lua run with @upstash/redis (written here, not copied), and
 * the key plan both stores share. Why own scripts rather than @upstash/ratelimit (docs/development.md,
 * "The rate-limit store"): a check whose answer was not used (its deadline passed, the fail mode answered)
 * must never count, exactly and idempotently. That needs a check id recorded in the same atomic step
 * as the count, and a refund that finds it; @upstash/ratelimit's negative `rate` refunds blindly (it
 * cannot tell whether the timed-out check was applied, nor that a refund already ran). Owning the
 * script also keeps the quarantine lookup in the same round trip, and refuses a quarantined identity
 * before counting it.
 *
 * Check (one EVALSHA per request):
 *   KEYS  marks, counter…, quarantine…        marks: hash checkId → "1" counted | "r" refunded
 *   ARGV  algo, limit, windowMs, refill, now, counters, quarantines, checkId, ttlMs
 *   →     {1|0 success, remaining, reset (token bucket; else 0)}
 *         {-1, index of the quarantine key, its PTTL}  quarantined: nothing counted
 *         {-2, 0, 0}                                    this check id was refunded already: nothing counted
 * Refund (after a check whose answer was not used):
 *   KEYS  marks, counter                      ARGV algo, checkId, limit, ttlMs
 *   →     1 refunded | 0 nothing counted (a tombstone now keeps a late check from counting)
 */
import type { LimiterConfig } from "../model/rate-limit-store.js";

/** Keys and times of one check, computed by the caller's clock (as @upstash/ratelimit does). */
export interface CheckPlan {
  /** Counter keys, relative: fixed `[<key>:<bucket>]`, sliding `[current, previous]`, token bucket `[<key>]`. */
  counters: string[];
  /** Hash of this window's check ids. */
  marks: string;
  /** When the window resets (fixed and sliding); token bucket answers its own. */
  reset: number;
  /** Lifetime of the counter (and marks) written now. */
  ttlMs: number;
}

export function checkPlan(config: LimiterConfig, key: string, now: number): CheckPlan {
  const { windowMs } = config;
  const bucket = Math.floor(now / windowMs);
  const reset = (bucket + 1) * windowMs;
  if (config.algorithm === "fixed-window") {
    const counter = `${key}:${bucket}`;
    return { counters: [counter], marks: `${counter}:checks`, reset, ttlMs: Math.max(1, reset - now) };
  }
  if (config.algorithm === "sliding-window") {
    const current = `${key}:${bucket}`;
    // Kept one window past its end: it is the next window's "previous".
    return {
      counters: [current, `${key}:${bucket - 1}`],
      marks: `${current}:checks`,
      reset,
      ttlMs: Math.max(1, reset + windowMs - now),
    };
  }
  return { counters: [key], marks: `${key}:checks`, reset: 0, ttlMs: 0 };
}

/** How long a refund's tombstone outlives a counter that is already gone. */
export const TOMBSTONE_MS = 10 * 60_000;

export const CHECK_SCRIPT = `local marks = KEYS[1]
local algo, limit, window, refill, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local nc, nq, id, ttl = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], tonumber(ARGV[9])
for i = 1, nq do
  local left = redis.call('PTTL', KEYS[1 + nc + i])
  if left > 0 or left == -1 then return {-1, i, left} end
end
if redis.call('HEXISTS', marks, id) == 1 then return {-2, 0, 0} end
local function mark(life)
  redis.call('HSET', marks, id, '1')
  redis.call('PEXPIRE', marks, life)
end
if algo == 'fw' then
  local used = redis.call('INCR', KEYS[2])
  if used == 1 then redis.call('PEXPIRE', KEYS[2], ttl) end
  mark(ttl)
  if used <= limit then return {1, limit - used, 0} end
  return {0, 0, 0}
end
if algo == 'sw' then
  local current = tonumber(redis.call('GET', KEYS[2]) or '0')
  local previous = tonumber(redis.call('GET', KEYS[3]) or '0')
  local weighted = math.floor((1 - (now % window) / window) * previous)
  if weighted + current >= limit then return {0, 0, 0} end
  local used = redis.call('INCR', KEYS[2])
  if used == 1 then redis.call('PEXPIRE', KEYS[2], ttl) end
  mark(ttl)
  return {1, math.max(0, limit - used - weighted), 0}
end
local state = redis.call('HMGET', KEYS[2], 'tokens', 'refilledAt')
local tokens, refilledAt = tonumber(state[1] or limit), tonumber(state[2] or now)
local intervals = math.floor((now - refilledAt) / window)
if intervals > 0 then
  tokens = math.min(limit, tokens + intervals * refill)
  refilledAt = refilledAt + intervals * window
end
local reset = refilledAt + window
local success = 0
if tokens >= 1 then
  tokens = tokens - 1
  success = 1
end
local life = math.max(1, reset - now + math.ceil((limit - tokens) / refill) * window)
redis.call('HSET', KEYS[2], 'tokens', tokens, 'refilledAt', refilledAt)
redis.call('PEXPIRE', KEYS[2], life)
if success == 1 then mark(life) end
return {success, tokens, reset}`;

export const REFUND_SCRIPT = `local marks, counter = KEYS[1], KEYS[2]
local algo, id, limit, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HGET', marks, id)
if state == 'r' then return 0 end
redis.call('HSET', marks, id, 'r')
if redis.call('PTTL', marks) < 0 then redis.call('PEXPIRE', marks, ttl) end
if state ~= '1' then return 0 end
if algo == 'tb' then
  local tokens = tonumber(redis.call('HGET', counter, 'tokens'))
  if tokens and tokens < limit then redis.call('HINCRBY', counter, 'tokens', 1) end
  return 1
end
if redis.call('EXISTS', counter) == 1 and tonumber(redis.call('GET', counter)) > 0 then
  redis.call('DECR', counter)
end
return 1`;

/**
 * One Lua call per trip: count it, start the trip window on the first, and at `after` trips set
 * the quarantine (NX: a quarantine already running is not extended) and reset the count; answers
 * [trips, quarantined?, the quarantine's ms left].
 */
export const TRIP_SCRIPT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3], 'NX')
  redis.call('DEL', KEYS[1])
  return {n, 1, redis.call('PTTL', KEYS[2])}
end
return {n, 0, 0}`;
