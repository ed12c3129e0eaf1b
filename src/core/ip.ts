/*
 * IP parsing and CIDR matching, written here rather than taken from ipaddr.js: we need only parse,
 * contains and prefix-truncate, and the edge bundle budget is tight (ipaddr.js adds ~4 KB gzipped).
 * Addresses are held as bigint of 32 (v4) or 128 (v6) bits.
 */

export interface IpAddress {
  version: 4 | 6;
  value: bigint;
}

export interface Cidr {
  version: 4 | 6;
  network: bigint;
  prefix: number;
}

/**
 * Dotted quad, each octet `0` or 1-3 digits without a leading zero, ≤ 255. One pass over the
 * characters, accumulated as a number (32 bits fit exactly) and converted to bigint once: it runs on
 * every request (the client address), where a split, a regex per octet and bigint steps cost ~1 µs.
 */
function parseV4(text: string): bigint | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 46; // the end closes the last octet like a "."
    if (code === 46) {
      if (digits === 0 || octet > 255 || ++parts > 4) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (code >= 48 && code <= 57) {
      // A second digit after a leading "0" (`01`), or a fourth digit.
      if ((digits > 0 && octet === 0) || ++digits > 3) return undefined;
      octet = octet * 10 + (code - 48);
    } else {
      return undefined;
    }
  }
  return parts === 4 ? BigInt(value) : undefined;
}

function parseV6(text: string): bigint | undefined {
  let body = text;
  const zone = body.indexOf("%");
  if (zone !== -1) body = body.slice(0, zone);
  let tailV4: bigint | undefined;
  const lastColon = body.lastIndexOf(":");
  if (body.includes(".", lastColon)) {
    tailV4 = parseV4(body.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(Number.parseInt(group, 16));
  }
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

const V4_MAPPED_PREFIX = 0xffffn << 32n;

/**
 * Parses an IPv4 or IPv6 address (brackets and zone ids tolerated). IPv4-mapped IPv6
 * (`::ffff:1.2.3.4`) folds to IPv4 so one client cannot count as two identities.
 */
export function parseIp(text: string): IpAddress | undefined {
  const spaced = text.trim();
  // `[v6]` as in a Host header; a string test rather than a regex (this runs on every request).
  const trimmed =
    spaced.charCodeAt(0) === 91 && spaced.endsWith("]") && !/[\n\r\u2028\u2029]/.test(spaced)
      ? spaced.slice(1, -1)
      : spaced;
  if (trimmed.length === 0 || trimmed.length > 64) return undefined;
  if (!trimmed.includes(":")) {
    const v4 = parseV4(trimmed);
    return v4 === undefined ? undefined : { version: 4, value: v4 };
  }
  const v6 = parseV6(trimmed);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === V4_MAPPED_PREFIX >> 32n) return { version: 4, value: v6 & 0xffffffffn };
  return { version: 6, value: v6 };
}

function bits(version: 4 | 6): number {
  return version === 4 ? 32 : 128;
}

function mask(version: 4 | 6, prefix: number): bigint {
  const width = BigInt(bits(version));
  const host = width - BigInt(prefix);
  return ((1n << width) - 1n) ^ ((1n << host) - 1n);
}

/** Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address (a /32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  const [addressText, prefixText, extra] = text.split("/");
  if (addressText === undefined || extra !== undefined) return undefined;
  const address = parseIp(addressText);
  if (!address) return undefined;
  const max = bits(address.version);
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return undefined;
    prefix = Number(prefixText);
    // A v4-mapped CIDR like ::ffff:10.0.0.0/104 is re-expressed on the folded v4 address.
    if (address.version === 4 && addressText.includes(":")) prefix -= 96;
    if (prefix < 0 || prefix > max) return undefined;
  }
  return { version: address.version, network: address.value & mask(address.version, prefix), prefix };
}

export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  return cidr.version === ip.version && (ip.value & mask(ip.version, cidr.prefix)) === cidr.network;
}

function formatV6(value: bigint): string {
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  return groups.join(":");
}

function formatV4(value: bigint): string {
  const v = Number(value); // 32 bits: exact as a number, and number shifts cost far less than bigint ones
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Canonical text of an address; identical addresses spelled differently give the same text. */
export function formatIp(ip: IpAddress): string {
  return ip.version === 4 ? formatV4(ip.value) : formatV6(ip.value);
}

/**
 * The network an address belongs to at a prefix, as text (`2001:db8:0:1::/64`-like, expanded).
 * IPv6 clients usually hold a whole /64, so per-address limits would be trivial to evade.
 */
export function ipBucket(ip: IpAddress, v4Prefix = 32, v6Prefix = 64): string {
  const prefix = ip.version === 4 ? v4Prefix : v6Prefix;
  const network = ip.value & mask(ip.version, prefix);
  const text = ip.version === 4 ? formatV4(network) : formatV6(network);
  return prefix === bits(ip.version) ? text : `${text}/${prefix}`;
}
