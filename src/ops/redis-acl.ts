/**
 * The three Redis credentials of least privilege, as `ACL SETUSER` arguments (Redis 7 key
 * permissions: `~` read+write, `%R~` read only). Redis ACLs have no "all but" for keys, so each
 * role lists the keys it may write; the lists are derived from the layouts that define the keys
 * (docs/contracts.md), so a key added to a layout is granted with it:
 *   edge        writes the mirror, rate-limit and detector keys, reads the fast lane
 *   responder   all of that, plus appends to the audit chain, keeps incidents, publishes to the fast lane
 *   reader      reads everything, writes nothing (dashboards)
 */
import { keyPatterns } from "../core/key-patterns.js";
import { DETECT_KEYS } from "../rules/detector/keys.js";
import { RATE_LIMIT_KEY_PATTERNS } from "../rules/rate-limit/keys.js";
import { FASTLANE_HASH } from "../sources/fastlane.js";
import { MIRROR_KEYS } from "../stores/mirror/layout.js";
import { AUDIT_KEYS } from "./audit/chain.js";
import { incidentKeys } from "./incident-records.js";

export type RedisRole = "edge" | "responder" | "reader";

/** Key globs each role may write, relative to the prefix. */
export const WRITABLE_KEYS: Readonly<Record<Exclude<RedisRole, "reader">, readonly string[]>> = (() => {
  const edge = [...keyPatterns(MIRROR_KEYS), ...RATE_LIMIT_KEY_PATTERNS, ...keyPatterns(DETECT_KEYS)];
  return {
    edge,
    responder: [...edge, ...keyPatterns(AUDIT_KEYS), ...keyPatterns(incidentKeys), FASTLANE_HASH],
  };
})();

/** The arguments after `ACL SETUSER <name>` for a role (password given as `>secret`). */
export function aclRules(role: RedisRole, prefix: string, password: string): string[] {
  const base = ["reset", "on", `>${password}`, "resetchannels"];
  if (role === "reader")
    return [...base, `%R~${prefix}*`, "+@read", "+@connection", "-@write", "-@dangerous"];
  const keys = WRITABLE_KEYS[role].map((key) => `~${prefix}${key}`);
  const scripting = ["+@read", "+@write", "+@scripting", "+@connection", "-@dangerous", "-@admin", "+time"];
  if (role === "edge") return [...base, ...keys, `%R~${prefix}${FASTLANE_HASH}`, ...scripting];
  return [...base, ...keys, ...scripting];
}

/** `ACL SETUSER` lines to paste into redis-cli (Upstash: create the users in its console with the same rules). */
export function aclCommands(prefix: string, passwords: Record<RedisRole, string>): string[] {
  return (["edge", "responder", "reader"] as const).map(
    (role) => `ACL SETUSER containment-${role} ${aclRules(role, prefix, passwords[role]).join(" ")}`,
  );
}
