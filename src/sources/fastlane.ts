/**
 * The fast lane, edge side (docs/contracts.md, the fast lane). Edge Config may take up to ~10 s to make a write
 * visible in every region; the CLI therefore also publishes each kill switch it wrote to Redis hash
 * `<prefix>fastlane` (field `<id>` → `{item, version, exp, sig}`), signed with the responders'
 * Ed25519 key. The public key is the Edge Config item `containment_fastlane_key`, so the edge's Redis
 * token alone cannot inject a block.
 *
 * Each isolate reads the hash in the background (`waitUntil`), at most every `refreshMs`, never on
 * the hot path. The lane only adds blocks: the rules source adds its switches beside Edge Config's
 * (it never replaces or removes one), and drops an entry once Edge Config holds that switch at the
 * same or a later version, or once it expires.
 */
// Subpath imports only: the root entry reaches JWE (CompressionStream), which Next's webpack edge build warns about.
import type { JWK } from "jose";
import { compactVerify } from "jose/jws/compact/verify";
import { importJWK } from "jose/key/import";
import { withDeadline } from "../core/deadline.js";
import { DEFAULT_READ_TIMEOUT_MS, DEFAULT_REFRESH_MS } from "../model/defaults.js";
import { killSwitchItem } from "../model/edge-config-items.js";
import type { KillSwitchSpec } from "../rules/kill-switch.js";
import { validateKillSwitchItem } from "../rules/validate.js";

/** Hash (after the Redis prefix) holding the published switches. */
export const FASTLANE_HASH = "fastlane";
/** The longest lifetime an entry may claim: the lane bridges Edge Config's propagation, nothing more. */
export const FASTLANE_MAX_TTL_MS = 5 * 60_000;

/** What is signed: the switch's id, its version (docs/contracts.md) and item, and when it lapses. */
export interface FastLanePayload {
  id: string;
  version: number;
  item: Record<string, unknown>;
  /** Expiry, ms since epoch. */
  exp: number;
}

/** A Redis hash field's value. `sig` is a compact JWS (EdDSA) whose payload is a FastLanePayload. */
export interface FastLaneEntry extends FastLanePayload {
  sig: string;
}

/** A verified, unexpired entry, ready to be compiled beside Edge Config's switches. */
export interface FastLaneSwitch {
  id: string;
  version: number;
  exp: number;
  spec: KillSwitchSpec;
}

export type FastLaneFault =
  | "unsigned"
  | "bad-signature"
  | "no-key"
  | "malformed"
  | "payload-mismatch"
  | "ttl-too-long"
  | "invalid-item";

/** The canonical bytes signed for an entry: fixed key order, so signer and verifier agree. */
export function fastLanePayloadText(payload: FastLanePayload): string {
  return JSON.stringify({ id: payload.id, version: payload.version, item: payload.item, exp: payload.exp });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The public keys an Edge Config item (or the `fastLane.publicKey` option) names. */
export function fastLaneKeys(value: unknown): JWK[] {
  if (!isRecord(value)) return [];
  const list = Array.isArray(value.keys) ? value.keys : [value];
  return list.filter((key): key is JWK => isRecord(key) && key.kty === "OKP" && key.crv === "Ed25519");
}

type Verified = { ok: true; value: FastLaneSwitch } | { ok: false; fault: FastLaneFault };

function parseEntry(raw: unknown): Partial<FastLaneEntry> | undefined {
  if (typeof raw === "string") {
    try {
      raw = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  return isRecord(raw) ? (raw as Partial<FastLaneEntry>) : undefined;
}

function checkPayload(field: string, text: string, now: number): Verified {
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    return { ok: false, fault: "malformed" };
  }
  if (!isRecord(payload) || payload.id !== field || !isRecord(payload.item)) {
    return { ok: false, fault: "payload-mismatch" };
  }
  const { version, exp } = payload;
  if (typeof version !== "number" || !Number.isInteger(version) || version < 0 || typeof exp !== "number")
    return { ok: false, fault: "malformed" };
  if (exp - now > FASTLANE_MAX_TTL_MS) return { ok: false, fault: "ttl-too-long" };
  const item = validateKillSwitchItem(killSwitchItem(field), payload.item);
  if (!item.ok) return { ok: false, fault: "invalid-item" };
  return { ok: true, value: { id: field, version, exp, spec: item.value } };
}

/**
 * Verifies one hash field. Only the signed payload is trusted: the entry's unsigned copies of
 * `item`, `version` and `exp` are there for people reading Redis and are ignored here.
 */
export async function verifyFastLaneEntry(
  field: string,
  raw: unknown,
  keys: readonly CryptoKey[],
  now: number,
): Promise<Verified> {
  const entry = parseEntry(raw);
  if (!entry) return { ok: false, fault: "malformed" };
  if (typeof entry.sig !== "string" || entry.sig.length === 0) return { ok: false, fault: "unsigned" };
  if (keys.length === 0) return { ok: false, fault: "no-key" };
  for (const key of keys) {
    try {
      const { payload } = await compactVerify(entry.sig, key, { algorithms: ["EdDSA", "Ed25519"] });
      return checkPayload(field, new TextDecoder().decode(payload), now);
    } catch {
      // Try the next key (a rotation publishes two); none verifying is a bad signature.
    }
  }
  return { ok: false, fault: "bad-signature" };
}

/** The two services the reader uses (a subset of the engine's Services). */
export interface FastLaneServices {
  now(): number;
  report(event: string, detail?: Readonly<Record<string, unknown>>): void;
}

export interface FastLaneReaderOptions {
  /** Reads the whole hash (HGETALL `<prefix>fastlane`); `null` or `{}` when empty. */
  read(): Promise<Record<string, unknown> | null>;
  services: FastLaneServices;
  /** Least time between two reads; default 500 ms (the Edge Config refresh interval). */
  refreshMs?: number;
  /** Deadline of a read; default 500 ms. */
  timeoutMs?: number;
}

export interface FastLaneState {
  /** Verified, unexpired switches of the last read. */
  switches: readonly FastLaneSwitch[];
  /** When the lane last answered (ms), if ever. */
  lastReadAt?: number;
  lastError?: { at: number; message: string };
}

/**
 * The per-isolate fast-lane reader. `poll` starts a read when one is due and none is running (the
 * caller hands it to `waitUntil`); `switches()` answers from memory. A read that fails keeps the
 * last verified entries until they expire: Redis down never lifts a block, and never adds one.
 */
export interface FastLaneReader {
  /**
   * A read to run in the background, or undefined when none is due. Resolves to true when the set
   * changed. `force` (a cold start) reads now, even beside a running read: no request awaits another's I/O.
   */
  poll(keys: readonly JWK[], force?: boolean): Promise<boolean> | undefined;
  /**
   * Verifies the last read again with `keys` (no I/O): a cold start reads the lane beside Edge Config,
   * before the key item has arrived. Resolves to true when the set changed.
   */
  reverify(keys: readonly JWK[]): Promise<boolean>;
  /** The verified switches still unexpired at `now`. */
  switches(now: number): FastLaneSwitch[];
  state(): FastLaneState;
}

/** Imports public JWKs once each (by their `x`), for the life of the isolate. */
function keyImporter(): (keys: readonly JWK[]) => Promise<CryptoKey[]> {
  const imported = new Map<string, Promise<CryptoKey | undefined>>();
  return (keys) =>
    Promise.all(
      keys.map((jwk) => {
        const id = String(jwk.x);
        let key = imported.get(id);
        if (!key) {
          key = importJWK({ kty: "OKP", crv: "Ed25519", x: id }, "EdDSA").then(
            (k) => k as CryptoKey,
            () => undefined,
          );
          imported.set(id, key);
        }
        return key;
      }),
    ).then((list) => list.filter((k): k is CryptoKey => k !== undefined));
}

export function fastLaneReader(options: FastLaneReaderOptions): FastLaneReader {
  const { services } = options;
  const refreshMs = options.refreshMs ?? DEFAULT_REFRESH_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  const cryptoKeys = keyImporter();
  let verified: FastLaneSwitch[] = [];
  let signature = "";
  let lastHash: Record<string, unknown> = {};
  let startedAt = Number.NEGATIVE_INFINITY;
  let running = false;
  let lastReadAt: number | undefined;
  let lastError: FastLaneState["lastError"];
  // Entries already reported as invalid, by their exact value: one report per bad entry, not per read.
  const reported = new Set<string>();

  function reportFault(field: string, raw: unknown, fault: FastLaneFault): void {
    const mark = `${field}\u0000${typeof raw === "string" ? raw : JSON.stringify(raw)}`;
    if (reported.has(mark)) return;
    if (reported.size > 1000) reported.clear();
    reported.add(mark);
    const id = field.slice(0, 64);
    services.report("fastlane-invalid", {
      id,
      fault,
      message: `fast-lane entry "${id}" ignored (${fault}); Edge Config alone decides this switch`,
    });
  }

  /** Verifies every field; answers whether the verified set changed. Without keys, faults wait for `reverify`. */
  async function verify(hash: Record<string, unknown>, keys: readonly JWK[]): Promise<boolean> {
    const now = services.now();
    const imported = await cryptoKeys(keys);
    const next: FastLaneSwitch[] = [];
    for (const [field, raw] of Object.entries(hash)) {
      const result = await verifyFastLaneEntry(field, raw, imported, now);
      if (result.ok) {
        if (result.value.exp > now) next.push(result.value);
      } else if (keys.length > 0 || result.fault !== "no-key") reportFault(field, raw, result.fault);
    }
    next.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.version - b.version));
    const nextSignature = next.map((entry) => `${entry.id}@${entry.version}:${entry.exp}`).join(",");
    const changed = nextSignature !== signature;
    verified = next;
    signature = nextSignature;
    return changed;
  }

  async function read(keys: readonly JWK[]): Promise<boolean> {
    running = true;
    startedAt = services.now();
    try {
      lastHash = (await withDeadline(options.read(), timeoutMs, "fast lane read")) ?? {};
      lastReadAt = services.now();
      lastError = undefined;
      return await verify(lastHash, keys);
    } catch (error) {
      // Redis down: the entries verified before stay until they expire; nothing is lifted early.
      lastError = { at: services.now(), message: error instanceof Error ? error.message : String(error) };
      return false;
    } finally {
      running = false;
    }
  }

  return {
    poll(keys, force = false) {
      if (!force && (running || services.now() - startedAt < refreshMs)) return undefined;
      return read(keys);
    },
    reverify: (keys) => verify(lastHash, keys),
    switches(now) {
      return verified.filter((entry) => entry.exp > now);
    },
    state() {
      return {
        switches: verified,
        ...(lastReadAt === undefined ? {} : { lastReadAt }),
        ...(lastError ? { lastError } : {}),
      };
    },
  };
}
