/**
 * What a decision looks like once it leaves the isolate (the Redis `events` stream, the in-memory
 * decision log). The privacy rules live here, once:
 * - the path is the engine's redacted path (identifier-like segments → `:id`), never the query;
 * - `user` is a keyed pseudonym (the same one rate-limit keys and quarantines use, so evidence
 *   links up), never the subject itself;
 * - `ip` is the client's /24 (IPv4) or /48 (IPv6) network, never the address;
 * - `tenant` is kept: it is an organisation id, the unit responders act on;
 * - bodies, tokens, cookies and headers are never part of a decision at all.
 */

import { type Keyring, truncateIp } from "../../core/identity.js";
import type { Decision } from "../../model/decision.js";

export type EventFields = Record<string, string>;

/** A problem of the rules source (e.g. `rules-invalid`) recorded next to decisions. */
export interface SourceEvent {
  readonly source: true;
  readonly at: number;
  readonly event: string;
  readonly message: string;
  readonly region: string;
}

/** Minute bucket of `counts:<minute>` and `top:<minute>:<dimension>`: whole minutes since the epoch. */
export function minuteOf(at: number): number {
  return Math.floor(at / 60_000);
}

/** The `counts:<minute>` field: `rule|outcome` (`-` when no rule decided). */
export function countField(decision: Decision): string {
  return `${decision.rule ?? "-"}|${decision.outcome}`;
}

function put(fields: EventFields, name: string, value: string | number | undefined): void {
  if (value === undefined || value === "") return;
  fields[name] = String(value);
}

/** The event fields of a decision, privacy rules applied. */
export async function eventFieldsOf(decision: Decision, keyring: Keyring): Promise<EventFields> {
  const fields: EventFields = {};
  put(fields, "ts", decision.at);
  put(fields, "id", decision.requestId);
  put(fields, "rule", decision.rule);
  put(fields, "kind", decision.kind);
  put(fields, "outcome", decision.outcome);
  if ("status" in decision) put(fields, "status", decision.status);
  put(fields, "method", decision.method);
  put(fields, "path", decision.path);
  put(fields, "route", decision.route);
  put(fields, "host", decision.host);
  put(fields, "tenant", decision.tenant);
  if (decision.user !== undefined) put(fields, "user", await keyring.pseudonym("user", decision.user));
  put(fields, "ip", truncateIp(decision.ip));
  put(fields, "region", decision.region);
  put(fields, "digest", decision.rulesetDigest);
  put(fields, "latency", Math.round(decision.latencyMs * 10) / 10);
  put(fields, "reason", decision.reason);
  if (decision.outcome === "error") put(fields, "failMode", decision.failMode);
  if (decision.outcome === "monitor") put(fields, "wouldBe", decision.wouldBe);
  if (decision.outcome === "block" || decision.outcome === "rate-limited")
    put(fields, "incident", decision.incident);
  if (decision.notes.length > 0) {
    put(
      fields,
      "notes",
      decision.notes.map((note) => `${note.rule}:${note.wouldBe ?? "error"}:${note.reason}`).join(";"),
    );
  }
  return fields;
}

export function sourceEventFields(event: SourceEvent): EventFields {
  return {
    ts: String(event.at),
    kind: "source",
    outcome: event.event,
    reason: event.message.slice(0, 500),
    region: event.region,
  };
}

/** Blocked identities for `top:<minute>:<dimension>`, raw (pseudonymized when sent). */
export function topIdentities(decision: Decision): Array<["tenant" | "user" | "ip", string]> {
  const out: Array<["tenant" | "user" | "ip", string]> = [];
  if (decision.tenant !== undefined) out.push(["tenant", decision.tenant]);
  if (decision.user !== undefined) out.push(["user", decision.user]);
  if (decision.ip !== undefined) out.push(["ip", decision.ip]);
  return out;
}

/** The member a raw identity is shown as in `top:*` sets: same rules as events. */
export async function topMember(
  dimension: "tenant" | "user" | "ip",
  raw: string,
  keyring: Keyring,
): Promise<string | undefined> {
  if (dimension === "tenant") return raw;
  if (dimension === "user") return keyring.pseudonym("user", raw);
  return truncateIp(raw);
}
