/**
 * The fast lane, responder side (docs/contracts.md, the fast lane): after Edge Config accepted a kill switch,
 * the CLI (kill, extend) publishes it to Redis signed with the responders' Ed25519 key, so every
 * isolate enforces it within its next background read instead of waiting for Edge Config's
 * propagation (up to ~10 s). `lift` withdraws it. Entries live minutes at most: the lane only
 * bridges propagation; Edge Config stays the record.
 *
 * Every entry is signed for one audience (the deployment's Edge Config id unless configured), and
 * `lift` replaces the entry with a signed withdrawal of its version rather than deleting it: an
 * isolate that read the withdrawal ignores that version until the withdrawal lapses, so the old
 * signed entry put back into Redis does not block again (src/sources/fastlane.ts).
 *
 * Keys: `generateFastLaneKeys()` once; the private JWK goes to the responders' secret store
 * (env `CONTAINMENT_FASTLANE_PRIVATE_KEY`), the public JWK to the Edge Config item
 * `containment_fastlane_key` (and optionally the deployment's `fastLane.publicKey` option, so a cold
 * isolate that cannot reach Edge Config can still verify).
 */
import { CompactSign, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { withDeadline } from "../core/deadline.js";
import { DEFAULT_REDIS_PREFIX } from "../model/defaults.js";
import {
  FASTLANE_HASH,
  FASTLANE_MAX_TTL_MS,
  type FastLaneEntry,
  type FastLanePayload,
  fastLanePayloadText,
} from "../sources/fastlane.js";

/** The Redis commands the publisher needs; an `@upstash/redis` client and an ioredis client both fit. */
export interface FastLaneRedis {
  hset(key: string, values: Record<string, string>): Promise<unknown>;
  hdel(key: string, ...fields: string[]): Promise<unknown>;
  hgetall(key: string): Promise<Record<string, unknown> | null>;
  pexpire(key: string, ms: number): Promise<unknown>;
}

/** What an audit hook is given; the CLI turns it into an `appendAudit` entry (format 3). */
export interface FastLaneAuditEntry {
  action: "fastlane-publish" | "fastlane-withdraw";
  /** `<prefix>fastlane:<id>` */
  key: string;
  before: null;
  after: { id: string; version: number; exp: number } | null;
}

export interface FastLaneContext {
  redis: FastLaneRedis;
  /**
   * The deployment scope the entries are signed for (`aud`), which the edge checks: the Edge Config
   * id (`ecfg_…`) its connection string names, or the `fastLane.audience` it is configured with.
   */
  audience: string;
  /** Redis key prefix; default `containment:`. */
  prefix?: string;
  /** The responders' private Ed25519 key (a CryptoKey, or the private JWK). */
  signingKey: CryptoKey | JWK;
  /** Lifetime of a published entry; default 3 minutes, at most 5. */
  ttlMs?: number;
  /** Deadline of each Redis call; default 2000 ms. */
  timeoutMs?: number;
  now?: () => number;
  /** Called once after each publish or withdrawal that Redis accepted. */
  audit?: (entry: FastLaneAuditEntry) => Promise<unknown> | unknown;
}

/** A kill-switch item as written to Edge Config (`id` and, per docs/contracts.md, `version`). */
export interface FastLaneItem {
  id: string;
  version?: number;
  [field: string]: unknown;
}

export interface FastLanePublication {
  id: string;
  version: number;
  exp: number;
  key: string;
  field: string;
}

const DEFAULT_TTL_MS = 3 * 60_000;

/** A new responders' key pair: the private JWK for the CLI, the public JWK for Edge Config. */
export async function generateFastLaneKeys(): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  return { privateJwk: { ...privateJwk, alg: "EdDSA" }, publicJwk: { ...publicJwk, alg: "EdDSA" } };
}

/** Imports the private key from its JWK text (env `CONTAINMENT_FASTLANE_PRIVATE_KEY`). */
export async function fastLaneSigningKey(jwkText: string): Promise<CryptoKey> {
  let jwk: unknown;
  try {
    jwk = JSON.parse(jwkText);
  } catch {
    throw new Error("edge-containment: the fast-lane private key must be a JSON Web Key (Ed25519)");
  }
  const candidate = jwk as JWK;
  if (candidate.kty !== "OKP" || candidate.crv !== "Ed25519" || typeof candidate.d !== "string")
    throw new Error("edge-containment: the fast-lane private key must be a private Ed25519 JWK (with d)");
  return (await importJWK(candidate, "EdDSA")) as CryptoKey;
}

async function privateKey(key: CryptoKey | JWK): Promise<CryptoKey> {
  return key instanceof CryptoKey ? key : ((await importJWK(key, "EdDSA")) as CryptoKey);
}

/** Signs one entry: a compact JWS (EdDSA) over the canonical payload. */
export async function signFastLaneEntry(
  payload: FastLanePayload,
  key: CryptoKey | JWK,
): Promise<FastLaneEntry> {
  const sig = await new CompactSign(new TextEncoder().encode(fastLanePayloadText(payload)))
    .setProtectedHeader({ alg: "EdDSA" })
    .sign(await privateKey(key));
  return { ...payload, sig };
}

function audienceOf(ctx: FastLaneContext): string {
  if (typeof ctx.audience !== "string" || ctx.audience === "")
    throw new Error(
      "edge-containment: a fast-lane entry needs an audience: the deployment's Edge Config id (ecfg_…) or its fastLane.audience",
    );
  return ctx.audience;
}

function hashKey(ctx: FastLaneContext): string {
  return `${ctx.prefix ?? DEFAULT_REDIS_PREFIX}${FASTLANE_HASH}`;
}

/** HGETALL's answer as a record: a client without automatic deserialization answers `[field, value, …]`. */
function hashOf(reply: unknown): Record<string, unknown> {
  if (Array.isArray(reply)) {
    const out: Record<string, unknown> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1];
    return out;
  }
  return reply !== null && typeof reply === "object" ? (reply as Record<string, unknown>) : {};
}

/** Fields whose entry has expired, so the hash does not grow with every flip of an incident. */
function expiredFields(hash: Record<string, unknown>, now: number, keep: string): string[] {
  const out: string[] = [];
  for (const [field, raw] of Object.entries(hash)) {
    if (field === keep) continue;
    let exp: unknown;
    try {
      exp = (typeof raw === "string" ? JSON.parse(raw) : raw)?.exp;
    } catch {
      exp = undefined;
    }
    if (typeof exp !== "number" || exp <= now) out.push(field);
  }
  return out;
}

/**
 * Publishes a kill switch that Edge Config has accepted. Call it only after the Edge Config write
 * succeeded: the lane must never enforce what the record does not hold.
 *
 * @example
 * const key = await fastLaneSigningKey(process.env.CONTAINMENT_FASTLANE_PRIVATE_KEY!);
 * await publishFastLane({ redis, prefix: "containment:", signingKey: key }, item);
 */
export async function publishFastLane(
  ctx: FastLaneContext,
  item: FastLaneItem,
): Promise<FastLanePublication> {
  if (typeof item.id !== "string" || !/^[\w-]{1,64}$/.test(item.id))
    throw new Error(
      `edge-containment: a fast-lane switch needs an id like "exports", got ${JSON.stringify(item.id)}`,
    );
  const ttlMs = Math.min(ctx.ttlMs ?? DEFAULT_TTL_MS, FASTLANE_MAX_TTL_MS);
  if (!(ttlMs > 0))
    throw new Error("edge-containment: fast-lane ttlMs must be a positive number of milliseconds");
  const now = (ctx.now ?? Date.now)();
  const version = item.version ?? 0;
  const exp = now + ttlMs;
  const entry = await signFastLaneEntry(
    { aud: audienceOf(ctx), id: item.id, version, item: { ...item }, exp },
    ctx.signingKey,
  );
  const key = hashKey(ctx);
  const timeoutMs = ctx.timeoutMs ?? 2000;
  const existing = hashOf(await withDeadline(ctx.redis.hgetall(key), timeoutMs, "fast lane read"));
  await withDeadline(
    ctx.redis.hset(key, { [item.id]: JSON.stringify(entry) }),
    timeoutMs,
    "fast lane publish",
  );
  const stale = expiredFields(existing, now, item.id);
  if (stale.length > 0) await withDeadline(ctx.redis.hdel(key, ...stale), timeoutMs, "fast lane prune");
  // The hash outlives its newest entry by a little; an abandoned lane disappears on its own.
  await withDeadline(ctx.redis.pexpire(key, ttlMs + 60_000), timeoutMs, "fast lane expiry");
  await ctx.audit?.({
    action: "fastlane-publish",
    key: `${key}:${item.id}`,
    before: null,
    after: { id: item.id, version, exp },
  });
  return { id: item.id, version, exp, key, field: item.id };
}

function entryVersion(raw: unknown): number | undefined {
  try {
    const parsed = (typeof raw === "string" ? JSON.parse(raw) : raw) as {
      version?: unknown;
      withdrawn?: unknown;
    };
    return typeof parsed?.version === "number" && parsed.withdrawn !== true ? parsed.version : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Withdraws a switch from the lane (on `lift`): replaces its entry with a signed withdrawal of
 * `version` (the lifted item's; at least the version the lane held), which lives as long as any
 * entry may, so the edge ignores that version and older ones even if the entry is put back.
 * Answers whether an entry was there. The edge drops it within its next read; until Edge Config's
 * delete is visible, Edge Config still blocks, as it should.
 */
export async function withdrawFastLane(ctx: FastLaneContext, id: string, version?: number): Promise<boolean> {
  const key = hashKey(ctx);
  const timeoutMs = ctx.timeoutMs ?? 2000;
  const existing = hashOf(await withDeadline(ctx.redis.hgetall(key), timeoutMs, "fast lane read"));
  const held = entryVersion(existing[id]);
  const withdrawnVersion = Math.max(version ?? 0, held ?? 0);
  const exp = (ctx.now ?? Date.now)() + FASTLANE_MAX_TTL_MS;
  const withdrawal = await signFastLaneEntry(
    { aud: audienceOf(ctx), id, version: withdrawnVersion, item: null, exp, withdrawn: true },
    ctx.signingKey,
  );
  await withDeadline(
    ctx.redis.hset(key, { [id]: JSON.stringify(withdrawal) }),
    timeoutMs,
    "fast lane withdraw",
  );
  await withDeadline(ctx.redis.pexpire(key, FASTLANE_MAX_TTL_MS + 60_000), timeoutMs, "fast lane expiry");
  const existed = held !== undefined;
  if (existed)
    await ctx.audit?.({
      action: "fastlane-withdraw",
      key: `${key}:${id}`,
      before: null,
      after: { id, version: withdrawnVersion, exp },
    });
  return existed;
}
