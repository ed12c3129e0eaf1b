/**
 * What the dashboard shows beyond the mirror reader: the open incident and its regulatory clocks
 * (report's incidents + clocks), the audit chain checked link by link (cli's readAudit + verifyAudit,
 * against the Edge Config anchor when the dashboard can read it), and the legacy per-region
 * `enforcing` hash for edges that do not write isolate reports yet. Read-only commands only.
 */
import { parseDuration } from "../core/duration.js";
import type { ResponderRedis } from "../model/responder-redis.js";
import { readAudit, verifyAudit } from "../ops/audit/index.js";
import { listIncidents } from "../ops/incidents.js";
import { regulatoryClocks } from "../ops/report/clocks.js";
import type { IncidentRecord } from "../ops/report/model.js";
import type { AuditState, IncidentEntry } from "./api.js";

/** Chains longer than this are not re-verified on every refresh (`containment audit verify` does). */
export const VERIFY_AT_MOST = 5_000;

export function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export async function readEnforcing(redis: ResponderRedis, prefix: string): Promise<Record<string, string>> {
  return (await redis.hgetall(`${prefix}enforcing`)) ?? {};
}

export async function readIncident(
  redis: ResponderRedis,
  prefix: string,
  now: number,
): Promise<IncidentEntry | null> {
  const incidents = await listIncidents({ client: redis, prefix, now: () => now });
  const open = incidents.find((i) => i.closed === undefined);
  return open ? incidentEntry(open, now) : null;
}

export function incidentEntry(incident: IncidentRecord, now: number): IncidentEntry {
  const term = (t: string | undefined) => (t === undefined ? undefined : parseDuration(t));
  const all = regulatoryClocks({
    discovered: incident.discovered,
    hipaaRole: incident.hipaaRole,
    gdprRole: incident.gdprRole,
    baaTermMs: term(incident.baaTerm),
    dpaTermMs: term(incident.dpaTerm),
    individuals: incident.individuals,
    maxStateResidents: incident.maxStateResidents,
  }).filter((c) => c.applicability !== "not-applicable");
  const nameOf = (c: (typeof all)[number]) => {
    const conditional = c.applicability === "conditional" ? " (if it applies)" : "";
    // GDPR citations already name their framework ("GDPR Art. 33(1)"); HIPAA's do not ("45 CFR …").
    const cited = c.citation.startsWith(c.framework) ? c.citation : `${c.framework} ${c.citation}`;
    return `${cited}: ${c.requirement} → ${c.recipient}${conditional}`;
  };
  const clocks = all
    .filter((c) => c.deadline !== null)
    .map((c) => {
      const deadline = Date.parse(c.deadline as string);
      return { name: nameOf(c), deadline, msLeft: deadline - now, role: c.role };
    })
    .sort((a, b) => a.deadline - b.deadline);
  // Every role's obligations are shown: one without a computable deadline says why, not nothing.
  const undated = all
    .filter((c) => c.deadline === null)
    .map((c) => ({ name: nameOf(c), role: c.role, basis: c.basis }));
  const entry: IncidentEntry = {
    id: incident.id,
    dataClasses: incident.dataClasses,
    clocks,
    discovered: incident.discovered,
    opened: incident.opened,
  };
  if (undated.length > 0) entry.undated = undated;
  if (incident.scopeRoutes)
    entry.scope = {
      routes: incident.scopeRoutes,
      ...(incident.scopeTenants ? { tenants: incident.scopeTenants } : {}),
      ...(incident.scopeMethods ? { methods: incident.scopeMethods } : {}),
    };
  if (incident.title) entry.title = incident.title.slice(0, 300);
  if (incident.hipaaRole === undefined && incident.gdprRole === undefined) entry.rolesMissing = true;
  return entry;
}

/** Verification is cached by head: the chain is read again only when it grew. */
export function auditReader(redis: ResponderRedis, prefix: string): (anchor: unknown) => Promise<AuditState> {
  let cached: { key: string; state: AuditState } | undefined;
  return async (anchor) => {
    const [count, head] = await Promise.all([redis.xlen(`${prefix}audit`), redis.get(`${prefix}audit:head`)]);
    const headText = head ?? "";
    const anchorText = anchor === undefined ? "" : text(anchor);
    const key = `${count}|${headText}|${anchorText}`;
    if (cached?.key === key) return cached.state;
    const state: AuditState = { length: count, recent: [], state: count === 0 ? "empty" : "unverified" };
    if (headText) state.head = headText;
    if (count > 0) {
      const records = await readAudit({ redis, prefix });
      state.recent = records
        .slice(-10)
        .reverse()
        .map((r) => {
          const e = r.entry;
          return {
            seq: e.seq,
            ts: typeof e.ts === "number" ? new Date(e.ts).toISOString() : String(e.ts),
            actor: text((e.actor as { name?: unknown } | null)?.name ?? e.actor).slice(0, 200),
            action: text(e.action),
            phase: text(e.phase),
            ...(e.incident ? { incident: text(e.incident) } : {}),
            ...(e.key ? { key: text(e.key) } : {}),
          };
        });
      if (count <= VERIFY_AT_MOST) {
        const result = await verifyAudit(records, anchor === undefined ? {} : { anchor: anchor as never });
        state.state = result.ok ? "verified" : "broken";
        if (!result.ok && result.firstBreak)
          state.detail = `entry ${result.firstBreak.seq ?? result.firstBreak.index + 1} ${result.firstBreak.reason}`;
        else if (anchor === undefined)
          state.detail = "links checked; the Edge Config anchor was not readable here";
      } else state.detail = `longer than ${VERIFY_AT_MOST} entries: run containment audit verify`;
    }
    cached = { key, state };
    return state;
  };
}
