/**
 * The three Redis credentials of least privilege, as `ACL SETUSER` arguments (Redis 7 key
 * permissions: `~` read+write, `%R~` read only). Redis ACLs have no "all but" for keys, so the
 * edge's user lists the mirror and rate-limit keys it writes and can never touch `audit*`.
 *   edge        writes the mirror and rate-limit keys, reads the fast lane
 *   responder   all of that, plus appends to the audit chain and publishes to the fast lane
 *   reader      reads everything, writes nothing (dashboards)
 */
const EDGE_KEYS = [
  "events",
  "counts:*",
  "top:*",
  "traffic:*",
  "isolate:*",
  "isolates",
  "isolate-*",
  "seq",
  "accounted",
  "contact",
  "mirror:*",
  "enforcing",
  "rl:*",
  "trips:*",
  "quarantine:*",
];

export type RedisRole = "edge" | "responder" | "reader";

/** The arguments after `ACL SETUSER <name>` for a role (password given as `>secret`). */
export function aclRules(role: RedisRole, prefix: string, password: string): string[] {
  const base = ["reset", "on", `>${password}`, "resetchannels"];
  if (role === "reader")
    return [...base, `%R~${prefix}*`, "+@read", "+@connection", "-@write", "-@dangerous"];
  const keys = EDGE_KEYS.map((key) => `~${prefix}${key}`);
  const scripting = ["+@read", "+@write", "+@scripting", "+@connection", "-@dangerous", "-@admin", "+time"];
  if (role === "edge") return [...base, ...keys, `%R~${prefix}fastlane`, ...scripting];
  return [
    ...base,
    ...keys,
    `~${prefix}audit`,
    `~${prefix}audit:head`,
    `~${prefix}fastlane`,
    `~${prefix}incident:*`,
    `~${prefix}incidents`,
    ...scripting,
  ];
}

/** `ACL SETUSER` lines to paste into redis-cli (Upstash: create the users in its console with the same rules). */
export function aclCommands(prefix: string, passwords: Record<RedisRole, string>): string[] {
  return (["edge", "responder", "reader"] as const).map(
    (role) => `ACL SETUSER containment-${role} ${aclRules(role, prefix, passwords[role]).join(" ")}`,
  );
}
