/**
 * Reads operator actions out of audit entries: which switch a kill/lift/extend changed, its scope
 * and version, who did it and why. Only `result` entries count as changes made; an intent without a
 * result is shown as such (the change may not have happened).
 */

import { killSwitchIdOf } from "../../model/edge-config-items.js";
import type { AuditView } from "./model.js";

export type ActionKind =
  | "kill"
  | "lift"
  | "extend"
  | "rules-push"
  | "quarantine-release"
  | "incident-open"
  | "incident-close"
  | "other";

/** Action names as the CLI writes them (`kill`, `switch.kill`, `rules push`, …) folded to one kind. */
export function actionKind(action: string): ActionKind {
  const a = action.toLowerCase();
  if (a.includes("incident")) return a.includes("close") ? "incident-close" : "incident-open";
  if (a.includes("quarantine")) return "quarantine-release";
  if (a.includes("rules") || a.includes("push")) return "rules-push";
  if (a.includes("lift")) return "lift";
  if (a.includes("extend")) return "extend";
  if (a.includes("kill")) return "kill";
  return "other";
}

/** Entry time in UTC ms: `ts` may be ms or ISO text. */
export function entryTime(entry: AuditView): number {
  const ts = entry.ts;
  if (typeof ts === "number") return ts;
  const asNumber = Number(ts);
  return Number.isFinite(asNumber) ? asNumber : Date.parse(ts);
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  if (typeof value === "string") {
    try {
      return asRecord(JSON.parse(value));
    } catch {
      return undefined;
    }
  }
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

export interface SwitchScope {
  path: string | string[];
  methods?: string[];
  tenants?: string[];
  hosts?: string[];
}

export interface SwitchState {
  id: string;
  version: number;
  scope: SwitchScope;
  dataClasses: string[];
  incident?: string | undefined;
}

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((x) => typeof x === "string") ? value : undefined;
}

/** The kill-switch item an entry wrote (`after`) or removed (`before`). */
export function switchOf(entry: AuditView, side: "before" | "after"): SwitchState | undefined {
  const item = asRecord(entry[side]);
  const key = entry.key ?? "";
  const id = (typeof item?.id === "string" ? item.id : undefined) ?? killSwitchIdOf(key);
  const match = asRecord(item?.match);
  if (id === undefined || !match) return undefined;
  const path = typeof match.path === "string" ? match.path : strings(match.path);
  if (path === undefined) return undefined;
  const methods = strings(match.methods);
  const tenants = strings(match.tenants);
  const hosts = strings(match.hosts);
  return {
    id,
    version: typeof item?.version === "number" ? item.version : 0,
    scope: {
      path,
      ...(methods ? { methods } : {}),
      ...(tenants ? { tenants } : {}),
      ...(hosts ? { hosts } : {}),
    },
    dataClasses: strings(item?.dataClasses) ?? [],
    incident: typeof item?.incident === "string" ? item.incident : undefined,
  };
}

/** The switch id an entry is about, even for a lift whose `before` is missing. */
export function switchIdOf(entry: AuditView): string | undefined {
  const key = entry.key ?? "";
  return killSwitchIdOf(key) ?? switchOf(entry, "after")?.id ?? switchOf(entry, "before")?.id;
}

/**
 * Result entries in chain order (a `failed` result changed nothing and is left out), plus intents
 * that never got a result and failed results, both shown as incomplete changes.
 */
export function changesOf(entries: readonly AuditView[]): {
  results: AuditView[];
  unmatchedIntents: AuditView[];
} {
  const sorted = [...entries].sort((a, b) => a.seq - b.seq);
  const results: AuditView[] = [];
  const failed: AuditView[] = [];
  const pending = new Map<string, AuditView[]>();
  for (const entry of sorted) {
    const key = `${entry.action}\u0000${entry.key ?? ""}`;
    if (entry.phase === "intent") pending.set(key, [...(pending.get(key) ?? []), entry]);
    else if (entry.phase === "result") {
      pending.get(key)?.shift();
      if (entry.outcome === "failed") failed.push(entry);
      else results.push(entry);
    }
  }
  const unmatchedIntents = [...pending.values()].flat();
  return { results, unmatchedIntents: [...unmatchedIntents, ...failed].sort((a, b) => a.seq - b.seq) };
}
