/**
 * Compare-and-swap for kill switches on an API that has none: Vercel's PATCH `update` and `delete`
 * do not check the value as read, but `create` fails on an existing key and a PATCH is atomic. So
 * each write of switch `<id>` creates the next revision marker and deletes the one it read
 * (src/model/edge-config-items.ts). Two responders who read the same store both try to create the
 * same marker: the second PATCH fails as a conflict, nothing of it is written, and it re-plans
 * against what the first wrote (docs/runbook.md, "Two responders at once").
 */
import { SWITCH_REVISION_PREFIX, switchRevisionItem } from "../../model/edge-config-items.js";
import type { Json } from "../../model/json.js";
import type { PatchOperation } from "../edge-config-api.js";

/** The revision markers of switch `id` in a store as read, by number. */
export function revisionsOf(items: ReadonlyMap<string, Json>, id: string): number[] {
  const prefix = `${SWITCH_REVISION_PREFIX}${id}_`;
  const out: number[] = [];
  for (const key of items.keys()) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    if (/^\d{1,12}$/.test(rest)) out.push(Number(rest));
  }
  return out;
}

/** The operations that make a write of switch `id` fail if another write of it landed since `items` was read. */
export function revisionGuard(items: ReadonlyMap<string, Json>, id: string): PatchOperation[] {
  const seen = revisionsOf(items, id);
  const next = Math.max(0, ...seen) + 1;
  return [
    { operation: "create", key: switchRevisionItem(id, next), value: next },
    ...seen.map((n): PatchOperation => ({ operation: "delete", key: switchRevisionItem(id, n) })),
  ];
}
