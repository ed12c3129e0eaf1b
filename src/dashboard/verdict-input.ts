/**
 * The verdict's input (verdict.ts) from what the mirror reader offers today: `traffic:<minute>` rows
 * (keyed by the deciding rule's pattern, or the redacted path when no rule decided), events for the
 * regions, isolate reports and the ledger for confirmations and gaps. One function on purpose: when
 * the mirror records route shapes (docs/recorded-format.md), only the rows change here.
 */
import type {
  IsolateLedger,
  IsolateRecord,
  MirrorEvent,
  TrafficMinutes,
} from "../stores/mirror/reader-types.js";
import type { IncidentEntry, SwitchEntry } from "./api.js";
import type { IsolateState, VerdictInput } from "./verdict.js";

export interface MirrorView {
  now: number;
  incident: IncidentEntry;
  traffic: TrafficMinutes;
  events: readonly MirrorEvent[];
  /** Isolates that reported within `freshMs`. */
  isolates: readonly IsolateRecord[];
  ledger: readonly IsolateLedger[];
  switches: readonly SwitchEntry[];
  freshMs: number;
  lookbackMinutes: number;
}

export function verdictInputFrom(view: MirrorView): VerdictInput {
  const ledger = new Map(view.ledger.map((l) => [l.member, l]));
  const isolates: IsolateState[] = view.isolates.map((record) => ({
    region: record.region,
    isolate: record.isolate,
    lastSeen: record.at,
    verified: record.trust === "verified",
    enforcing: record.report ? [...record.report.switches, ...record.report.fast] : [],
    gap: ledger.get(record.member)?.gap ?? 0,
  }));
  // Isolates known to the ledger only: heard from before, silent since (their region's last word).
  const reported = new Set(view.isolates.map((r) => r.member));
  for (const l of view.ledger)
    if (!reported.has(l.member) && l.region !== "")
      isolates.push({
        region: l.region,
        isolate: l.isolate,
        lastSeen: l.lastContact,
        verified: false,
        enforcing: [],
        gap: l.gap,
      });
  const sightings = view.events
    .filter((e) => e.fields.kind !== "source" && e.fields.region)
    .map((e) => ({
      minute: Math.floor(e.last / 60_000),
      route: e.fields.route ?? e.fields.path ?? "",
      method: e.fields.method ?? "",
      tenant: e.fields.tenant ?? "-",
      outcome: e.fields.outcome ?? "",
      region: e.fields.region as string,
    }));
  const scope = view.incident.scope;
  return {
    now: view.now,
    incident: view.incident.id,
    scope: scope && { routes: scope.routes, tenants: scope.tenants ?? [], methods: scope.methods ?? [] },
    rows: view.traffic.rows,
    sightings,
    isolates,
    switches: view.switches
      .filter((s) => s.incident === view.incident.id && s.state !== "expired" && !s.monitor)
      .map((s) => ({ id: s.id, version: s.version })),
    overflow: view.traffic.overflow,
    freshMs: view.freshMs,
    lookbackMinutes: view.lookbackMinutes,
  };
}
