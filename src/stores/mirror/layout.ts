/**
 * The mirror's Redis layout, once: every key the edge writes and `reader.ts` reads.
 * Names are relative; the prefix (default `containment:`) is added by whoever talks to Redis.
 *
 *   events                         stream: non-allow decisions (one entry each), sampled allows,
 *                                  aggregate entries (`agg=1`, `count`, `first`, `last`) standing in
 *                                  for repeated or overflowed blocks, and source problems
 *   counts:<minute>                hash `rule|outcome → n`: ALL decisions, exactly
 *   shapes:<minute>                hash `host|shape|method|tenant|outcome → n`: ALL decisions by
 *                                  route shape, whatever rule matched (docs/recorded-format.md);
 *                                  capped: reserved and general capacity, `~other` and
 *                                  `~overflow-reserved` fields hold the rest, so the total is exact
 *   traffic:<minute>               format 1 (read only now): `route|method|tenant|outcome → n` by
 *                                  the matched rule's pattern; the reader still reads old minutes
 *   top:<minute>:<dimension>       zset of blocked tenants / users (pseudonym) / networks
 *   isolate:<region>:<isolate>     the isolate's MAC'd enforcement report (EX 300)
 *   isolates                       zset `<region>:<isolate>` scored by the report's `at`
 *   mirror:seq                     hash `<region>:<isolate>` → highest decision sequence number
 *                                  Redis has heard of from that isolate (never goes down)
 *   mirror:accounted               hash `<region>:<isolate>` → decisions of it that are in `counts`
 *                                  or in `mirror:drops`; `seq - accounted` is its exact gap
 *   mirror:contact                 hash `<region>:<isolate>` → isolate clock ms of its last contact
 *   mirror:drops                   decisions missing from `counts` (cardinality cap), all isolates
 *   mirror:drops:shapes            decisions of reserved shapes counted in `~overflow-reserved`
 *                                  (in `shapes`, but not by route)
 *   mirror:format                  the recorded format the edge writes (`2`)
 *   mirror:drops:events            decisions in `counts` whose event could not be kept even as an
 *                                  aggregate (aggregate table full)
 *   mirror:batch:<member>:<n>      guard of flush `n` of an isolate: a retried flush applies once
 */

export const MIRROR_KEYS = {
  events: "events",
  counts: (minute: number): string => `counts:${minute}`,
  shapes: (minute: number): string => `shapes:${minute}`,
  traffic: (minute: number): string => `traffic:${minute}`,
  top: (minute: number, dimension: string): string => `top:${minute}:${dimension}`,
  isolate: (member: string): string => `isolate:${member}`,
  isolates: "isolates",
  seq: "mirror:seq",
  accounted: "mirror:accounted",
  contact: "mirror:contact",
  drops: "mirror:drops",
  eventDrops: "mirror:drops:events",
  shapeDrops: "mirror:drops:shapes",
  format: "mirror:format",
  batch: (member: string, n: number): string => `mirror:batch:${member}:${n}`,
} as const;

/** The recorded format the edge writes in `mirror:format` (docs/recorded-format.md). */
export const MIRROR_FORMAT = 2;
/** Shape of a `shapes` field whose route was folded: general capacity was full. */
export const SHAPE_OTHER = "~other";
/** Shape of a `shapes` field of a reserved shape beyond reserved capacity. */
export const SHAPE_OVERFLOW_RESERVED = "~overflow-reserved";
/** Tenant recorded when the request named none the document declares (its one home: rules/recorded-tenant.ts). */
export { UNDECLARED_TENANT } from "../../rules/recorded-tenant.js";
/** Host of a `shapes` field when no rule of the ruleset scopes by host. */
export const ANY_HOST = "*";

/** Field of `traffic:<minute>` (format 1) holding decisions beyond the per-minute cardinality cap. */
export const TRAFFIC_OVERFLOW = "~overflow";
/** Tenant column of a traffic field when the decision had none. */
export const NO_TENANT_FIELD = "-";
/**
 * Lifetime of a flush guard (`mirror:batch:*`), seconds: a flush retried within it applies once.
 * It is also the mirror's retry horizon: after it nothing legitimate adds to a minute, so an
 * incident's copy of the minute is frozen (docs/contracts.md, "Preserved evidence").
 */
export const BATCH_GUARD_TTL_SECONDS = 3_600;
/** Lifetime of an isolate's report key, seconds (docs/contracts.md, the isolate report). */
export const REPORT_TTL_SECONDS = 300;

export type TopDimension = "tenant" | "user" | "ip";

/** `<region>:<isolate>`: how an isolate is named in `isolates` and the `mirror:*` hashes. */
export function isolateMember(region: string, isolate: string): string {
  return `${region}:${isolate}`;
}

/** Splits an isolate member; the region is everything before the last `:`. */
export function parseIsolateMember(member: string): { region: string; isolate: string } {
  const at = member.lastIndexOf(":");
  return at < 0
    ? { region: "", isolate: member }
    : { region: member.slice(0, at), isolate: member.slice(at + 1) };
}

/** `route|method|tenant|outcome`; `|` inside a part is replaced so the field splits back cleanly. */
export function trafficField(
  route: string,
  method: string,
  tenant: string | undefined,
  outcome: string,
): string {
  const clean = (part: string): string => part.replaceAll("|", "_");
  return [clean(route), clean(method), clean(tenant ?? NO_TENANT_FIELD), clean(outcome)].join("|");
}

/** `host|shape|method|tenant|outcome`; `|` inside a part is replaced so the field splits back cleanly. */
export function shapeField(
  host: string,
  shape: string,
  method: string,
  tenant: string,
  outcome: string,
): string {
  const clean = (part: string): string => part.replaceAll("|", "_");
  return `${clean(host)}|${clean(shape)}|${clean(method)}|${clean(tenant)}|${clean(outcome)}`;
}

export interface ShapeFieldParts {
  host: string;
  shape: string;
  method: string;
  tenant: string;
  outcome: string;
}

/** Splits a `shapes` field; undefined when it is not one. */
export function parseShapeField(field: string): ShapeFieldParts | undefined {
  const parts = field.split("|");
  if (parts.length !== 5) return undefined;
  const [host, shape, method, tenant, outcome] = parts as [string, string, string, string, string];
  return { host, shape, method, tenant, outcome };
}
