/**
 * What the ruleset in force says about recording route shapes (docs/recorded-format.md): which
 * shapes have reserved capacity (a rule that can refuse a request matches them: kill switches,
 * rate limits, tenant binding, so their evidence cannot be pushed into overflow by traffic on
 * unknown routes), whether hosts are recorded (only when a rule scopes by host), and which tenants
 * the document declares. Compiled once per ruleset; a shape's reservation is memoized.
 */
import { parsePattern } from "../../rules/pattern.js";
import type { CompiledRuleset } from "../../rules/ruleset.js";
import { RouteTrie, type TrieMatch } from "../../rules/trie.js";
import { ANY_HOST, UNDECLARED_TENANT } from "./layout.js";

export interface ShapeScope {
  /** The host column of a field for this request host. */
  host(host: string): string;
  /** The tenant column: a tenant the document declares, else `~undeclared`. */
  tenant(tenant: string | undefined): string;
  /** A rule that can refuse requests matches this shape. */
  reserved(shape: string): boolean;
}

/** Before the first ruleset is known: no reservation, no hosts, tenants as decided. */
export const NO_SHAPE_SCOPE: ShapeScope = {
  host: () => ANY_HOST,
  tenant: (tenant) => tenant ?? UNDECLARED_TENANT,
  reserved: () => false,
};

const MEMO = 4_096;

export function shapeScopeOf(ruleset: CompiledRuleset): ShapeScope {
  const trie = new RouteTrie<true>();
  let byHost = false;
  for (const rule of ruleset.rules) {
    if (rule.match.hosts) byHost = true;
    // Headers rules never refuse a request: their routes share general capacity.
    if (rule.kind === "headers") continue;
    for (const pattern of typeof rule.match.path === "string" ? [rule.match.path] : rule.match.path) {
      const parsed = parsePattern(pattern);
      if (typeof parsed !== "string") trie.insert(pattern, parsed, true);
    }
  }
  const known = ruleset.document.tenants;
  const declared =
    known === undefined ? undefined : new Set(Object.keys(known).map((name) => name.toLowerCase()));
  const memo = new Map<string, boolean>();
  const hits: TrieMatch<true>[] = [];
  return {
    host: byHost ? (host) => host : () => ANY_HOST,
    tenant: (tenant) =>
      tenant === undefined || (declared !== undefined && !declared.has(tenant.toLowerCase()))
        ? UNDECLARED_TENANT
        : tenant,
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
