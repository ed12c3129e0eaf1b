/**
 * Which tenants may be written to Redis as themselves (docs/recorded-format.md#privacy): a tenant
 * the rules document declares (its `tenants`, a value of a `from: "host"` table, or a rule's
 * `match.tenants`), or one tenant binding verified (a token signed with a key the document names carried it). Any other tenant is
 * a string a client chose, so every position the edge records (events, top lists, route shapes,
 * detections) holds the fixed bucket `~undeclared` instead; counts stay exact, only the label goes.
 */
import type { TenantSourceSpec } from "./tenancy.js";

/** The parts of a rules document that declare tenants (kept loose: the document schema imports the kinds). */
interface Declaring {
  readonly tenants?: Readonly<Record<string, unknown>> | undefined;
  readonly tenancy?: TenantSourceSpec | undefined;
  readonly rules: readonly { readonly kind: string; readonly tenant?: TenantSourceSpec }[];
}

/** The tenant recorded for a request whose tenant the document does not declare (or that has none). */
export const UNDECLARED_TENANT = "~undeclared";

/** The tenant to record: the tenant itself when declared or verified, else `~undeclared` (none stays none). */
export type RecordTenant = <T extends string | undefined>(tenant: T, verified: boolean) => T | string;

function hostTable(source: TenantSourceSpec | undefined): readonly string[] {
  return source?.from === "host" ? Object.values(source.hosts) : [];
}

/**
 * Compiled once per ruleset. `named` are the tenants the ruleset's rules scope by (`match.tenants`,
 * kill-switch items included): a responder wrote them, no client chose them.
 */
export function recordTenantOf(document: Declaring, named: Iterable<string> = []): RecordTenant {
  const declared = new Set(
    [
      ...named,
      ...Object.keys(document.tenants ?? {}),
      ...hostTable(document.tenancy),
      ...document.rules.flatMap((rule) => (rule.kind === "tenant-binding" ? hostTable(rule.tenant) : [])),
    ].map((name) => name.toLowerCase()),
  );
  return (tenant, verified) =>
    tenant && !verified && !declared.has(tenant.toLowerCase()) ? UNDECLARED_TENANT : tenant;
}
