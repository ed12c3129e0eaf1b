/**
 * What the ruleset in force says about recording decisions (docs/recorded-format.md): which
 * shapes have reserved capacity (a rule that can refuse a request matches them: kill switches,
 * rate limits, tenant binding, so their evidence cannot be pushed into overflow by traffic on
 * unknown routes), whether hosts are recorded (only when a rule scopes by host), and which tenants
 * a record may name (declared or verified; rules/recorded-tenant.ts). Compiled once per ruleset; a
 * shape's reservation is memoized.
 */
import type { Decision } from "../../model/decision.js";
import { parsePattern, patternList } from "../../rules/pattern.js";
import { type RecordTenant, recordTenantOf } from "../../rules/recorded-tenant.js";
import type { CompiledRuleset } from "../../rules/ruleset.js";
import { RouteTrie, type TrieMatch } from "../../rules/trie.js";
import { ANY_HOST, UNDECLARED_TENANT } from "./layout.js";

export interface ShapeScope {
  /** The host column of a field for this request host. */
  host(host: string): string;
  /** The tenant column of a recorded decision: its tenant, else `~undeclared`. */
  tenant(tenant: string | undefined): string;
  /** A rule that can refuse requests matches this shape. */
  reserved(shape: string): boolean;
  /**
   * The decision as every record of it shows it: an undeclared tenant becomes `~undeclared` in the
   * tenant field and in the path segment and host label that carried it.
   */
  recorded(decision: Decision): Decision;
}

/** The decision with an undeclared tenant replaced wherever it was read from (a path segment, a host label). */
export function withRecordedTenant(decision: Decision, record: RecordTenant): Decision {
  const raw = decision.tenant;
  if (raw === undefined) return decision;
  const label = record(raw, decision.tenantVerified === true);
  if (label === raw) return decision;
  const lower = raw.toLowerCase();
  const path = decision.path
    .split("/")
    .map((segment) => (segment.toLowerCase() === lower ? label : segment))
    .join("/");
  const host = decision.host.toLowerCase();
  // `acme.example.com` (subdomain tenancy): the label it was read from.
  return {
    ...decision,
    tenant: label,
    path,
    host: host.startsWith(`${lower}.`) ? label + host.slice(lower.length) : decision.host,
  };
}

/** A document that declares no tenant: only verified tenants are named. */
const VERIFIED_ONLY = recordTenantOf({ rules: [] });

/** Before the first ruleset is known: no reservation, no hosts, only verified tenants named. */
export const NO_SHAPE_SCOPE: ShapeScope = {
  host: () => ANY_HOST,
  tenant: (tenant) => tenant ?? UNDECLARED_TENANT,
  reserved: () => false,
  recorded: (decision) => withRecordedTenant(decision, VERIFIED_ONLY),
};

const MEMO = 4_096;

export function shapeScopeOf(ruleset: CompiledRuleset): ShapeScope {
  const trie = new RouteTrie<true>();
  let byHost = false;
  for (const rule of ruleset.rules) {
    if (rule.match.hosts) byHost = true;
    // Headers rules never refuse a request: their routes share general capacity.
    if (rule.kind === "headers") continue;
    for (const pattern of patternList(rule.match.path)) {
      const parsed = parsePattern(pattern);
      if (typeof parsed !== "string") trie.insert(pattern, parsed, true);
    }
  }
  const record = ruleset.recordTenant;
  const memo = new Map<string, boolean>();
  const hits: TrieMatch<true>[] = [];
  return {
    host: byHost ? (host) => host : () => ANY_HOST,
    tenant: (tenant) => tenant ?? UNDECLARED_TENANT,
    recorded: (decision) => withRecordedTenant(decision, record),
    reserved(shape) {
      const seen = memo.get(shape);
      if (seen !== undefined) return seen;
      hits.length = 0;
      // `:id` segments follow only the trie's wildcard children: the firewall's own matching.
      const lower = shape === "/" ? [] : shape.slice(1).toLowerCase().split("/");
      trie.collect(lower, 0, hits);
      const reserved = hits.length > 0;
      if (memo.size >= MEMO) memo.clear();
      memo.set(shape, reserved);
      return reserved;
    },
  };
}
