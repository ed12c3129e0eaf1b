/** `list`: every kill-switch item with its state, time left and who flipped it. */

import { killSwitchIdOf } from "../../model/edge-config-items.js";
import type { OpsContext } from "../context.js";
import { readStore } from "./edge-config-snapshot.js";
import { asSwitch, describeMatch, type SwitchItem } from "./switch-item.js";

/** A switch expiring within this is listed as `expiring`. */
export const EXPIRING_MS = 15 * 60_000;

export interface SwitchRow {
  id: string;
  key: string;
  /** `active`, `expiring` (within 15 min), `expired` (still in Edge Config, no longer enforced), `monitor`, `invalid`. */
  state: "active" | "expiring" | "expired" | "monitor" | "invalid";
  match: string;
  version: number;
  incident: string | null;
  reason: string | null;
  by: string | null;
  at: string | null;
  expiresAt: string | null;
  /** ms left; null without expiry. */
  leftMs: number | null;
  item: SwitchItem | undefined;
}

export function switchRows(items: ReadonlyMap<string, unknown>, now: number): SwitchRow[] {
  const rows: SwitchRow[] = [];
  for (const [key, value] of items) {
    const id = killSwitchIdOf(key);
    if (id === undefined) continue;
    const item = asSwitch(value as never);
    if (item === undefined || typeof item.match !== "object") {
      rows.push({
        id,
        key,
        state: "invalid",
        match: "?",
        version: 0,
        incident: null,
        reason: null,
        by: null,
        at: null,
        expiresAt: null,
        leftMs: null,
        item: undefined,
      });
      continue;
    }
    const expires = item.expiresAt === undefined ? undefined : Date.parse(item.expiresAt);
    const leftMs = expires === undefined ? null : expires - now;
    const state: SwitchRow["state"] =
      leftMs !== null && leftMs <= 0
        ? "expired"
        : item.mode === "monitor"
          ? "monitor"
          : leftMs !== null && leftMs <= EXPIRING_MS
            ? "expiring"
            : "active";
    rows.push({
      id,
      key,
      state,
      match: describeMatch(item.match),
      version: item.version ?? 0,
      incident: item.incident ?? null,
      reason: item.reason ?? null,
      by: item.by ?? null,
      at: item.at ?? null,
      expiresAt: item.expiresAt ?? null,
      leftMs,
      item,
    });
  }
  return rows.sort((a, b) => a.id.localeCompare(b.id));
}

export async function listSwitches(ctx: OpsContext): Promise<SwitchRow[]> {
  const snapshot = await readStore(ctx);
  return switchRows(snapshot.items, ctx.now());
}

export function formatLeft(ms: number | null): string {
  if (ms === null) return "until lifted";
  if (ms <= 0) return `expired ${formatSpan(-ms)} ago`;
  return `${formatSpan(ms)} left`;
}

export function formatSpan(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return `${Math.max(0, Math.round(ms / 1000))}s`;
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours}h${String(minutes % 60).padStart(2, "0")}m` : `${Math.floor(hours / 24)}d`;
}
