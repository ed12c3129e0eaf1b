/**
 * The fast lane, edge side (docs/contracts.md, the fast lane). Edge Config may take up to ~10 s to make a write
 * visible in every region; the CLI therefore also publishes each kill switch it wrote to Redis hash
 * `<prefix>fastlane` (field `<id>` → `{item, version, exp, sig}`), signed with the responders'
 * Ed25519 key. The public key is the Edge Config item `containment_fastlane_key`, so the edge's Redis
 * token alone cannot inject a block.
 *
 * Each isolate reads the hash in the background (`waitUntil`), at most every `refreshMs` (700 ms), never on
 * the hot path. The lane only adds blocks: the rules source adds its switches beside Edge Config's
 * (it never replaces or removes one), and drops an entry once Edge Config holds (or has held) that
 * switch at the same or a later version, or once it expires.
 *
 * Every signed payload names its audience (`aud`: the deployment's Edge Config id, or a configured
 * scope), and an isolate ignores entries for another, so deployments sharing a key and a Redis
 * cannot enforce each other's. `lift` replaces an entry with a signed withdrawal of its version;
 * an isolate remembers the highest version withdrawn per switch until the withdrawal expires (it
 * outlives any entry it withdraws), and ignores an entry not newer than that, so putting the
 * withdrawn entry back into Redis does not bring the block back.
 */
// Subpath imports only: the root entry reaches JWE (CompressionStream), which Next's webpack edge build warns about.
import type { JWK } from "jose";
import { compactVerify } from "jose/jws/compact/verify";
import { withDeadline } from "../core/deadline.js";
import { errorText } from "../core/errors.js";
import { DEFAULT_FASTLANE_REFRESH_MS, DEFAULT_READ_TIMEOUT_MS } from "../model/defaults.js";
import { killSwitchItem } from "../model/edge-config-items.js";
import type { KillSwitchSpec } from "../rules/kill-switch.js";
import { validateKillSwitchItem } from "../rules/validate.js";

/** Hash (after the Redis prefix) holding the published switches. */
export const FASTLANE_HASH = "fastlane";
/** The longest lifetime an entry may claim: the lane bridges Edge Config's propagation, nothing more. */
export const FASTLANE_MAX_TTL_MS = 5 * 60_000;
/** Withdrawals an isolate remembers at once. */
const MAX_WITHDRAWALS = 1000;

/**
 * What is signed: the deployment it is for, the switch's id, its version (docs/contracts.md) and
 * item, and when it lapses; or, for a withdrawal, `withdrawn` and no item.
 */
export interface FastLanePayload {
  /** The deployment scope: the Edge Config id (`ecfg_…`) unless an audience is configured. */
  aud: string;
  id: string;
  version: number;
  /** The kill switch; null in a withdrawal. */
  item: Record<string, unknown> | null;
  /** Expiry, ms since epoch. */
  exp: number;
  /** A withdrawal: no entry of this switch at `version` or older is enforced until `exp`. */
  withdrawn?: true;
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

/** A verified withdrawal: entries of switch `id` at `version` or older are ignored until `exp`. */
export interface FastLaneWithdrawal {
  id: string;
  version: number;
  exp: number;
}

export type FastLaneFault =
  | "unsigned"
  | "bad-signature"
  | "no-key"
  | "malformed"
  | "payload-mismatch"
  | "wrong-audience"
  | "ttl-too-long"
  | "invalid-item"
  | "withdrawn";

/** The canonical bytes signed for an entry: fixed key order, so signer and verifier agree. */
export function fastLanePayloadText(payload: FastLanePayload): string {
  return JSON.stringify({
    aud: payload.aud,
    id: payload.id,
    version: payload.version,
    item: payload.item,
    exp: payload.exp,
    ...(payload.withdrawn === true ? { withdrawn: true } : {}),
  });
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

type Verified =
  | { ok: true; value: FastLaneSwitch; withdrawal?: undefined }
  | { ok: true; withdrawal: FastLaneWithdrawal; value?: undefined }
  | { ok: false; fault: FastLaneFault };

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

function checkPayload(field: string, text: string, now: number, audience: string): Verified {
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    return { ok: false, fault: "malformed" };
  }
  if (!isRecord(payload) || payload.id !== field) return { ok: false, fault: "payload-mismatch" };
  // Another deployment's entry (or one from before entries named their audience): never enforced here.
  if (payload.aud !== audience) return { ok: false, fault: "wrong-audience" };
  const { version, exp } = payload;
  if (typeof version !== "number" || !Number.isInteger(version) || version < 0 || typeof exp !== "number")
    return { ok: false, fault: "malformed" };
  if (exp - now > FASTLANE_MAX_TTL_MS) return { ok: false, fault: "ttl-too-long" };
  if (payload.withdrawn === true) return { ok: true, withdrawal: { id: field, version, exp } };
  if (!isRecord(payload.item)) return { ok: false, fault: "payload-mismatch" };
  const item = validateKillSwitchItem(killSwitchItem(field), payload.item);
  if (!item.ok) return { ok: false, fault: "invalid-item" };
  return { ok: true, value: { id: field, version, exp, spec: item.value } };
}

/**
 * Verifies one hash field for `audience` (the deployment's scope). Only the signed payload is
 * trusted: the entry's unsigned copies of `item`, `version` and `exp` are there for people reading
 * Redis and are ignored here.
 */
export async function verifyFastLaneEntry(
  field: string,
  raw: unknown,
  keys: readonly CryptoKey[],
  now: number,
  audience: string,
): Promise<Verified> {
  const entry = parseEntry(raw);
  if (!entry) return { ok: false, fault: "malformed" };
  if (typeof entry.sig !== "string" || entry.sig.length === 0) return { ok: false, fault: "unsigned" };
  if (keys.length === 0) return { ok: false, fault: "no-key" };
  for (const key of keys) {
    try {
      const { payload } = await compactVerify(entry.sig, key, { algorithms: ["EdDSA", "Ed25519"] });
      return checkPayload(field, new TextDecoder().decode(payload), now, audience);
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
  /** The deployment scope entries must be signed for (`aud`): the Edge Config id, or configured. */
  audience: string;
  services: FastLaneServices;
  /** Least time between two reads; default 700 ms (`DEFAULT_FASTLANE_REFRESH_MS`). */
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

/**
 * Imports public JWKs once each (by their `x`), for the life of the isolate. WebCrypto directly, as
 * jose's `importJWK` does it for EdDSA (an extractable `Ed25519` key for `verify`): `importJWK`
 * resolves any algorithm, JWE's included, and its tables would be most of what the lane adds to the
 * edge bundle for this one key type.
 */
function keyImporter(): (keys: readonly JWK[]) => Promise<CryptoKey[]> {
  const imported = new Map<string, Promise<CryptoKey | undefined>>();
  return (keys) =>
    Promise.all(
      keys.map((jwk) => {
        const id = String(jwk.x);
        let key = imported.get(id);
        if (!key) {
          key = crypto.subtle
            .importKey("jwk", { kty: "OKP", crv: "Ed25519", x: id }, { name: "Ed25519" }, true, ["verify"])
            .catch(() => undefined);
          imported.set(id, key);
        }
        return key;
      }),
    ).then((list) => list.filter((k): k is CryptoKey => k !== undefined));
}

export function fastLaneReader(options: FastLaneReaderOptions): FastLaneReader {
  const { services } = options;
  const refreshMs = options.refreshMs ?? DEFAULT_FASTLANE_REFRESH_MS;
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
  /** Per switch, the highest version withdrawn and until when that withdrawal holds. */
  const withdrawn = new Map<string, { version: number; until: number }>();

  function noteWithdrawal(withdrawal: FastLaneWithdrawal): void {
    const known = withdrawn.get(withdrawal.id);
    withdrawn.delete(withdrawal.id);
    withdrawn.set(withdrawal.id, {
      version: Math.max(known?.version ?? -1, withdrawal.version),
      until: Math.max(known?.until ?? 0, withdrawal.exp),
    });
    // Bounded: the oldest noted go first (an isolate sees a handful of switches an incident).
    if (withdrawn.size > MAX_WITHDRAWALS) withdrawn.delete(withdrawn.keys().next().value as string);
  }

  function isWithdrawn(entry: FastLaneSwitch, now: number): boolean {
    const known = withdrawn.get(entry.id);
    if (known === undefined) return false;
    if (known.until <= now) {
      withdrawn.delete(entry.id);
      return false;
    }
    return entry.version <= known.version;
  }

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
    const candidates: Array<{ field: string; raw: unknown; entry: FastLaneSwitch }> = [];
    for (const [field, raw] of Object.entries(hash)) {
      const result = await verifyFastLaneEntry(field, raw, imported, now, options.audience);
      if (!result.ok) {
        if (keys.length > 0 || result.fault !== "no-key") reportFault(field, raw, result.fault);
      } else if (result.withdrawal !== undefined) noteWithdrawal(result.withdrawal);
      else candidates.push({ field, raw, entry: result.value });
    }
    const next: FastLaneSwitch[] = [];
    for (const { field, raw, entry } of candidates) {
      // A withdrawn entry put back into Redis: the lift stands.
      if (isWithdrawn(entry, now)) reportFault(field, raw, "withdrawn");
      else if (entry.exp > now) next.push(entry);
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
      lastError = { at: services.now(), message: errorText(error) };
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
