/**
 * Kill-switch items as the CLI writes them (`containment_kill_<id>`), checked with the firewall's own
 * validator so a switch the CLI writes is one every edge will enforce.
 */

import { killSwitchItem } from "../../model/edge-config-items.js";
import type { Json } from "../../model/json.js";
import type { MatchSpec } from "../../rules/common.js";
import type { KillSwitchSpec } from "../../rules/kill-switch.js";
import { validateKillSwitchItem } from "../../rules/validate.js";
import { usageError } from "../errors.js";

export type SwitchItem = KillSwitchSpec & { version?: number };

export const ID_PATTERN = /^[A-Za-z0-9][\w-]{0,63}$/;

export function switchKey(id: string): string {
  if (!ID_PATTERN.test(id))
    throw usageError(
      `switch id ${JSON.stringify(id)} must be 1-64 letters, digits, _ or -, starting with a letter or digit`,
    );
  return killSwitchItem(id);
}

/** A readable id from the pattern's literal segments: `/api/:tenant/export/**` → `api-export`. */
export function idFromPattern(pattern: string): string {
  const words = pattern
    .split("/")
    .filter((part) => part !== "" && !part.startsWith(":") && !part.includes("*"))
    .map((part) =>
      part
        .toLowerCase()
        .replace(/[^a-z0-9_-]+/g, "-")
        .replace(/^-+|-+$/g, ""),
    )
    .filter(Boolean);
  const id = words.join("-").slice(0, 56).replace(/-+$/, "");
  return id === "" ? "all" : id;
}

/** Validates an item with the firewall's validator; a fault is a usage error naming its JSON path. */
export function checkSwitchItem(key: string, item: Json): SwitchItem {
  const result = validateKillSwitchItem(key, item);
  if (!result.ok) {
    const first = result.issues[0];
    const where = first?.path.replace(/^\$\["[^"]+"\]/, "") || "item";
    throw usageError(
      `the kill switch is invalid: ${where.replace(/^\./, "")} ${first?.message ?? ""}`.trim(),
      { issues: result.issues },
    );
  }
  return result.value as SwitchItem;
}

/** True when the switch blocks every route of every tenant and host (`/**` with no scope). */
export function blocksEverything(match: MatchSpec): boolean {
  const paths = Array.isArray(match.path) ? match.path : [match.path];
  const all = paths.some((path) => path === "/**");
  return all && match.tenants === undefined && match.hosts === undefined && match.methods === undefined;
}

export function asSwitch(value: Json | undefined): SwitchItem | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  return value as unknown as SwitchItem;
}

export function describeMatch(match: MatchSpec): string {
  const paths = Array.isArray(match.path) ? match.path.join(" ") : match.path;
  const scope = [
    match.methods && `methods ${match.methods.join(",")}`,
    match.tenants && `tenants ${match.tenants.join(",")}`,
    match.hosts && `hosts ${match.hosts.join(",")}`,
  ].filter(Boolean);
  return scope.length === 0 ? paths : `${paths} (${scope.join("; ")})`;
}
