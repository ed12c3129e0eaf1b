/*
 * How identities become Redis keys and evidence fields. Nothing that identifies a person leaves the
 * isolate raw: users, tenants and IP buckets in keys are keyed pseudonyms (HMAC-like SHA-256 of a
 * per-deployment salt and the value, 16 hex digits), so counters and quarantines work across
 * isolates and events link to each other, while Redis holds no user id or address.
 */

import { BoundedMap } from "./bounded.js";
import { pseudonymize } from "./hash.js";
import { type IpAddress, ipBucket, parseIp } from "./ip.js";

export type IdentityDimension = "tenant" | "user" | "ip";
/** What a rate-limit rule may key on; `route` is always part of the key and adds nothing by itself. */
export type ByKey = IdentityDimension | "route";

/** `ContainmentOptions.identity`. */
export interface IdentityOptions {
  /**
   * The pseudonym key: a dedicated secret mixed into every pseudonym. Default: env
   * `CONTAINMENT_SALT`; else random per isolate (never derived from the Redis token or another
   * credential: docs/security.md#credentials-and-secrets), which `pseudonym-key-missing` reports.
   */
  salt?: string;
  /** IPv4 prefix length one client is counted by; default 32 (one address). */
  ipv4Prefix?: number;
  /** IPv6 prefix length one client is counted by; default 64 (a client usually holds a whole /64). */
  ipv6Prefix?: number;
}

/** The raw facts of one request a key is built from; held only in the isolate. */
export interface IdentityFacts {
  /** Tenant as addressed (any case; keys fold it to lower case). */
  tenant?: string | undefined;
  /** Verified subject (set by tenant binding from a verified token), never a claim we did not check. */
  user?: string | undefined;
  ip?: IpAddress | undefined;
}

export interface IdentityKey {
  /**
   * The identity part of a counter key, e.g. `tenant=1f2e…,user=9a8b…`. A `user` that fell back to
   * the client IP reads `user~ip=…`, a missing IP `ip=unknown`, a missing tenant `tenant=-`.
   */
  readonly counter: string;
  /** Quarantine dimension: the identity kinds in canonical order joined by `+`, e.g. `tenant+user`, `ip`. */
  readonly dimension: string;
  /** Quarantine id: the pseudonyms in the same order joined by `.`. */
  readonly id: string;
  /** `user` was asked for but the request carried no verified subject. */
  readonly userFellBack: boolean;
}

const ORDER: readonly IdentityDimension[] = ["tenant", "user", "ip"];
/** Requests without a client IP (no trusted header) share one bucket: fail towards limiting them together. */
const UNKNOWN_IP = "unknown";
const NO_TENANT = "-";

/** Builds keys and pseudonyms with one deployment's salt and IP prefixes. One per firewall. */
export class Keyring {
  readonly ipv4Prefix: number;
  readonly ipv6Prefix: number;
  readonly #salt: string;
  readonly #cache = new BoundedMap<string, string>(4096);

  constructor(salt: string, options: Pick<IdentityOptions, "ipv4Prefix" | "ipv6Prefix"> = {}) {
    this.#salt = salt;
    this.ipv4Prefix = clampPrefix(options.ipv4Prefix, 32, 32);
    this.ipv6Prefix = clampPrefix(options.ipv6Prefix, 64, 128);
  }

  /**
   * Keyed pseudonym of `value`; `kind` separates domains, so tenant `x` and user `x` differ.
   * `value` is for record ids a detector counts (docs/detection.md): Redis sees only the pseudonym.
   */
  async pseudonym(kind: IdentityDimension | "value", value: string): Promise<string> {
    const cacheKey = `${kind}\u0000${value}`;
    const known = this.#cache.get(cacheKey);
    if (known !== undefined) return known;
    const computed = await pseudonymize(`${kind}:${value}`, this.#salt);
    this.#cache.set(cacheKey, computed);
    return computed;
  }

  /** The network one client is counted as (IPv6 /64 by default; IPv4-mapped already folded by parseIp). */
  bucket(ip: IpAddress): string {
    return ipBucket(ip, this.ipv4Prefix, this.ipv6Prefix);
  }

  /** The identity part of a counter key and the quarantine dimension/id, for `by`. */
  async key(by: readonly ByKey[], facts: IdentityFacts): Promise<IdentityKey> {
    const wanted = new Set(by);
    const labels: string[] = [];
    const dimensions: IdentityDimension[] = [];
    const ids: string[] = [];
    let userFellBack = false;
    const ipId = async (): Promise<string> =>
      facts.ip ? this.pseudonym("ip", this.bucket(facts.ip)) : UNKNOWN_IP;

    for (const dimension of ORDER) {
      if (!wanted.has(dimension)) continue;
      if (dimension === "tenant") {
        const tenant = facts.tenant?.toLowerCase();
        const id = tenant ? await this.pseudonym("tenant", tenant) : NO_TENANT;
        labels.push(`tenant=${id}`);
        dimensions.push("tenant");
        ids.push(id);
      } else if (dimension === "user" && facts.user !== undefined && facts.user !== "") {
        const id = await this.pseudonym("user", facts.user);
        labels.push(`user=${id}`);
        dimensions.push("user");
        ids.push(id);
      } else {
        // `user` without a verified subject is keyed by the client's network, and says so.
        if (dimension === "user") userFellBack = true;
        if (dimensions.includes("ip")) continue;
        const id = await ipId();
        labels.push(`${dimension === "user" ? "user~ip" : "ip"}=${id}`);
        dimensions.push("ip");
        ids.push(id);
      }
    }
    if (labels.length === 0) return { counter: "all", dimension: "route", id: "all", userFellBack };
    return { counter: labels.join(","), dimension: dimensions.join("+"), id: ids.join("."), userFellBack };
  }
}

function clampPrefix(value: number | undefined, fallback: number, max: number): number {
  if (value === undefined || !Number.isInteger(value)) return fallback;
  return Math.min(max, Math.max(0, value));
}

/**
 * What evidence shows of a client address: its /24 (IPv4) or /48 (IPv6) network. Enough to see that
 * an attack comes from one network and to block that range upstream; not enough to single out a
 * household. Hashing would hide even that, and a truncated network needs no salt to read.
 */
export function truncateIp(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const ip = parseIp(text);
  if (!ip) return undefined;
  return ipBucket(ip, 24, 48);
}
