// Subpath imports only: the root entry reaches JWE (CompressionStream), which Next's webpack edge build warns about.
import type { JSONWebKeySet, JWTVerifyGetKey } from "jose";
import * as errors from "jose/errors";
import { createLocalJWKSet } from "jose/jwks/local";
import { JwksUnavailable } from "../../core/errors.js";

/*
 * A JWKS cache of our own instead of jose's createRemoteJWKSet, for two reasons:
 *
 * 1. workerd (and Vercel's edge runtime) forbid awaiting I/O started by another request: a promise
 *    fed by request A's fetch can hang or fail in request B ("Cannot perform I/O on behalf of a
 *    different request"). jose therefore stops sharing its pending fetch on those runtimes, and
 *    with it the cooldown: its cooldown starts when a fetch *completes*, so every request with an
 *    unknown `kid` that arrives while a refetch is in flight starts one more. Here the refetch slot
 *    is claimed synchronously when a fetch *starts*, so a flood of unknown kids costs at most one
 *    fetch per cooldown on every runtime, and no promise ever crosses requests: the cache holds
 *    only plain data (the parsed key set and timestamps), and each request awaits its own fetch.
 * 2. The clock and fetch are the firewall's injected services, so tests control time.
 *
 * One entry per URL, module-level and bounded, so a rules reload (a recompile) keeps the keys.
 */

export interface JwksOptions {
  url: string;
  /** Deadline of one fetch. */
  timeoutMs: number;
  /** How long fetched keys are trusted before they must be refetched. */
  maxAgeMs: number;
  /** Least time between two fetch attempts caused by an unknown key. */
  cooldownMs: number;
}

export interface JwksServices {
  now(): number;
  fetch: typeof fetch;
}

/** The key set could not be fetched (network, timeout, status, body); the rule's failMode decides. */
export { JwksUnavailable };

interface Entry {
  keys: ReturnType<typeof createLocalJWKSet> | undefined;
  /** When `keys` were fetched. */
  fetchedAt: number;
  /** When the last fetch started (successful or not): the cooldown counts from here. */
  attemptAt: number;
  /** When the last fetch failed, to fail fast instead of piling up requests on a down endpoint. */
  failedAt: number;
  /** Start of the fetch in flight, if any; used to serve stale keys instead of fetching again. */
  inflightSince: number | undefined;
  /** Orders fetches so a slow, older response never replaces a newer key set. */
  started: number;
  applied: number;
}

const MAX_ENTRIES = 32;
const MAX_BODY_CHARS = 256 * 1024;
const MAX_KEYS = 100;
/** After a failed fetch, requests without usable keys fail at once for this long. */
export const FAILURE_BACKOFF_MS = 1_000;

const entries = new Map<string, Entry>();

function entryFor(url: string): Entry {
  let entry = entries.get(url);
  if (entry) {
    // Least recently used goes first when the map is full: re-insert to mark use.
    entries.delete(url);
  } else {
    entry = {
      keys: undefined,
      fetchedAt: -Infinity,
      attemptAt: -Infinity,
      failedAt: -Infinity,
      inflightSince: undefined,
      started: 0,
      applied: 0,
    };
    if (entries.size >= MAX_ENTRIES) {
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) entries.delete(oldest);
    }
  }
  entries.set(url, entry);
  return entry;
}

async function download(options: JwksOptions, services: JwksServices): Promise<JSONWebKeySet> {
  let response: Response;
  try {
    response = await services.fetch(options.url, {
      method: "GET",
      headers: { accept: "application/jwk-set+json, application/json" },
      // A redirect is not followed: the rule names the one URL its keys may come from.
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (cause) {
    throw new JwksUnavailable("fetch failed", { cause });
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => {});
    throw new JwksUnavailable(`status ${response.status}`);
  }
  const length = Number(response.headers.get("content-length") ?? "0");
  if (length > MAX_BODY_CHARS) {
    await response.body?.cancel().catch(() => {});
    throw new JwksUnavailable("response too large");
  }
  let text: string;
  try {
    text = await response.text();
  } catch (cause) {
    throw new JwksUnavailable("body unreadable", { cause });
  }
  if (text.length > MAX_BODY_CHARS) throw new JwksUnavailable("response too large");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new JwksUnavailable("body is not JSON", { cause });
  }
  const keys = (json as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length > MAX_KEYS) throw new JwksUnavailable("body is not a key set");
  return json as JSONWebKeySet;
}

async function refresh(entry: Entry, options: JwksOptions, services: JwksServices): Promise<void> {
  const sequence = ++entry.started;
  const startedAt = services.now();
  entry.attemptAt = startedAt;
  entry.inflightSince = startedAt;
  try {
    const json = await download(options, services);
    let keys: ReturnType<typeof createLocalJWKSet>;
    try {
      keys = createLocalJWKSet(json);
    } catch (cause) {
      throw new JwksUnavailable("malformed key set", { cause });
    }
    if (sequence > entry.applied) {
      entry.keys = keys;
      entry.fetchedAt = services.now();
      entry.applied = sequence;
    }
  } catch (error) {
    entry.failedAt = services.now();
    throw error instanceof JwksUnavailable ? error : new JwksUnavailable("fetch failed", { cause: error });
  } finally {
    if (entry.started === sequence) entry.inflightSince = undefined;
  }
}

function isFresh(entry: Entry, options: JwksOptions, services: JwksServices): boolean {
  return entry.keys !== undefined && services.now() - entry.fetchedAt < options.maxAgeMs;
}

function inFlight(entry: Entry, options: JwksOptions, services: JwksServices): boolean {
  return entry.inflightSince !== undefined && services.now() - entry.inflightSince < options.timeoutMs;
}

const POLL_MS = 5;

/**
 * Waits for the fetch another request started, by polling the cache with this request's own
 * timers: awaiting that request's promise is what workerd forbids. Gives up after one fetch
 * timeout (wall clock, not the injected one), which also covers a fetch whose request was
 * cancelled and so never settles.
 */
async function awaitInflight(entry: Entry, options: JwksOptions): Promise<void> {
  const sequence = entry.started;
  for (
    let waited = 0;
    entry.started === sequence && entry.inflightSince !== undefined && waited < options.timeoutMs;
    waited += POLL_MS
  ) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** What a key lookup went through, so a deadline that fires mid-lookup can be attributed. */
export interface KeyTrace {
  /** Set when the lookup is refetching for an unknown key: a timeout then means "no such key", not "unavailable". */
  unknownKid: boolean;
}

export type KeySource = (
  header: Parameters<JWTVerifyGetKey>[0],
  token: Parameters<JWTVerifyGetKey>[1],
  trace: KeyTrace,
) => ReturnType<JWTVerifyGetKey>;

/**
 * A key resolver backed by the module-level cache. Throws `JwksUnavailable` when there are no
 * usable keys and they cannot be fetched, and jose's `JWKSNoMatchingKey` for an unknown key.
 */
export function remoteKeySet(options: JwksOptions, services: JwksServices): KeySource {
  return async (header, token, trace) => {
    const entry = entryFor(options.url);
    if (!isFresh(entry, options, services)) {
      // Cold: if another request is fetching, wait for its result rather than fetch again.
      if (entry.keys === undefined && inFlight(entry, options, services)) await awaitInflight(entry, options);
      if (!isFresh(entry, options, services)) {
        // Stale keys while another request refreshes them: bounded by one fetch timeout, and it
        // keeps the expiry of the cache from turning into one fetch per concurrent request.
        const staleWhileRefreshing = entry.keys !== undefined && inFlight(entry, options, services);
        if (!staleWhileRefreshing) {
          if (services.now() - entry.failedAt < FAILURE_BACKOFF_MS)
            throw new JwksUnavailable("recent fetch failed");
          await refresh(entry, options, services);
        }
      }
    }
    const keys = entry.keys;
    if (keys === undefined) throw new JwksUnavailable("no keys");
    try {
      return await keys(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // A new `kid` may be a key rotation: refetch, but at most once per cooldown however many
      // unknown kids arrive. The slot is taken before the fetch starts (see refresh).
      if (services.now() - entry.attemptAt < options.cooldownMs) {
        // Someone else's refetch is running (the same rotation seen by concurrent requests): use its result.
        if (!inFlight(entry, options, services)) throw error;
        trace.unknownKid = true;
        await awaitInflight(entry, options);
        const next = entry.keys;
        if (next === undefined || next === keys) throw error;
        return next(header, token);
      }
      trace.unknownKid = true;
      try {
        await refresh(entry, options, services);
      } catch {
        // A failing refetch must not turn an unknown key into "unavailable" (and so into failMode open).
        throw error;
      }
      const next = entry.keys;
      if (next === undefined) throw error;
      return next(header, token);
    }
  };
}

/** Forgets every cached key set (tests). */
export function clearJwksCache(): void {
  entries.clear();
}

/** How many URLs are cached (tests of the bound). */
export function jwksCacheSize(): number {
  return entries.size;
}
