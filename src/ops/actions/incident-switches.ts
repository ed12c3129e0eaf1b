/**
 * The kill switches an incident owns that are still in force, and those about to lift themselves
 * while their incident is open (docs/runbook.md, "Closing an incident" and "Expiring switches").
 */
import type { Json } from "../../model/json.js";
import type { OpsContext } from "../context.js";
import { listIncidents } from "../incidents.js";
import { EXPIRING_MS, type SwitchRow, switchRows } from "./list.js";

/** Switches of `incident` that still block (not expired, not monitor only). */
export function inForceOf(items: ReadonlyMap<string, Json>, incident: string, now: number): SwitchRow[] {
  return switchRows(items, now).filter(
    (row) => row.incident === incident && (row.state === "active" || row.state === "expiring"),
  );
}

export interface ExpiringSwitch {
  id: string;
  version: number;
  incident: string | null;
  expiresAt: string;
  leftMs: number;
  /** False only when its incident is recorded as closed (an incident never opened with `incident open` counts as open). */
  incidentOpen: boolean;
}

/**
 * Switches that lift themselves within 15 minutes, with whether their incident is open. A switch
 * whose incident is open (or unknown: Redis down) is an alert: the leak it contains reopens when it
 * lifts itself, unless someone extends it.
 */
export async function expiringSwitches(
  ctx: OpsContext,
  rows: readonly SwitchRow[],
): Promise<ExpiringSwitch[]> {
  const expiring = rows.filter(
    (row) => row.state === "expiring" && row.leftMs !== null && row.leftMs <= EXPIRING_MS,
  );
  if (expiring.length === 0) return [];
  // Unreadable incidents (Redis down) count as open: a missed alert costs more than a spare one.
  let closed = new Set<string>();
  if (ctx.redis !== undefined)
    try {
      const incidents = await listIncidents({ client: ctx.redis, prefix: ctx.config.prefix, now: ctx.now });
      closed = new Set(incidents.filter((i) => i.closed !== undefined).map((i) => i.id));
    } catch {
      closed = new Set();
    }
  return expiring.map((row) => ({
    id: row.id,
    version: row.version,
    incident: row.incident,
    expiresAt: row.expiresAt ?? "",
    leftMs: row.leftMs ?? 0,
    incidentOpen: row.incident === null || !closed.has(row.incident),
  }));
}
