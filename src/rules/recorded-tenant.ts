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

/** The tenant to record: the tenant itself when declared or verified, else `~undeclared`. */
export type RecordTenant = (tenant: string | undefined, verified: boolean) => string;

function hostTable(source: TenantSourceSpec | undefined): readonly string[] {
  return source?.from === "host" ? Object.values(source.hosts) : [];
}

/**
 * Compiled once per ruleset. `named` are the tenants the ruleset's rules scope by (`match.tenants`,
 * kill-switch items included): a responder wrote them, no client chose them.
 */
export function recordTenantOf(document: Declaring, named: Iterable<string> = []): RecordTenant {
  const declared = new Set<string>();
  for (const name of named) declared.add(name.toLowerCase());
  for (const name of Object.keys(document.tenants ?? {})) declared.add(name.toLowerCase());
  for (const name of hostTable(document.tenancy)) declared.add(name.toLowerCase());
  for (const rule of document.rules)
    if (rule.kind === "tenant-binding")
      for (const name of hostTable(rule.tenant)) declared.add(name.toLowerCase());
  return (tenant, verified) =>
    tenant !== undefined && (verified || declared.has(tenant.toLowerCase())) ? tenant : UNDECLARED_TENANT;
}

/** Before any document is known: only a verified tenant is recorded. */
export const RECORD_VERIFIED_ONLY: RecordTenant = (tenant, verified) =>
  tenant !== undefined && verified ? tenant : UNDECLARED_TENANT;
