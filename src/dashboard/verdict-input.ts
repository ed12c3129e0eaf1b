/**
 * The verdict's input (verdict.ts) from what the mirror reader offers: route shapes (every
 * decision by its redacted path, whatever rule matched; docs/recorded-format.md) or, for minutes
 * written before format 2, the deciding rule's pattern; events for the regions, isolate reports and
 * the ledger for confirmations and gaps.
 */
import { SHAPE_OTHER, SHAPE_OVERFLOW_RESERVED } from "../stores/mirror/layout.js";
import type {
  IsolateLedger,
  IsolateRecord,
  MirrorEvent,
  TrafficMinutes,
} from "../stores/mirror/reader-types.js";
import type { ShapeRow } from "../stores/mirror/shape-rows.js";
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

/**
 * Shape rows as the verdict's rows: a folded field (the mirror's general or reserved capacity was
 * full) has no route, so it counts as overflow, which the verdict reads as "unknown", never as
 * "contained".
 */
export function trafficOfShapes(rows: readonly ShapeRow[]): TrafficMinutes {
  const out: TrafficMinutes = { rows: [], overflow: {} };
  for (const row of rows) {
    if (row.shape === SHAPE_OTHER || row.shape === SHAPE_OVERFLOW_RESERVED) {
      out.overflow[row.minute] = (out.overflow[row.minute] ?? 0) + row.n;
      continue;
    }
    const { minute, shape: route, method, tenant, outcome, n } = row;
    out.rows.push({ minute, route, method, tenant, outcome, n });
  }
  return out;
}
