/**
 * The store as one read: every item (so a change is made against the item as read), the audit
 * anchor, and the JSON size the plan limit is measured against.
 */

import { AUDIT_ANCHOR_ITEM } from "../../model/edge-config-items.js";
import type { Json } from "../../model/json.js";
import { PLAN_LIMITS, type Plan } from "../config.js";
import type { OpsContext } from "../context.js";

export interface StoreSnapshot {
  items: Map<string, Json>;
  /** Each item's Edge Config description, where it has one (`containment dev` marks its writes). */
  descriptions: Map<string, string>;
  anchor: Json | undefined;
  readAt: number;
}

export async function readStore(ctx: OpsContext): Promise<StoreSnapshot> {
  const list = await ctx.api.items();
  const items = new Map(list.map((item) => [item.key, item.value] as const));
  const descriptions = new Map<string, string>();
  for (const item of list) if (item.description !== undefined) descriptions.set(item.key, item.description);
  return { items, descriptions, anchor: items.get(AUDIT_ANCHOR_ITEM), readAt: ctx.now() };
}

const encoder = new TextEncoder();

/** JSON size of all items, with `key` set to `value` (or removed when undefined). */
export function sizeWith(items: ReadonlyMap<string, Json>, key: string, value: Json | undefined): number {
  const plain: Record<string, Json> = {};
  for (const [k, v] of items) if (k !== key) plain[k] = v;
  if (value !== undefined) plain[key] = value;
  return encoder.encode(JSON.stringify(plain)).length;
}

export interface SizeReport {
  before: number;
  after: number;
  limit: number;
  plan: Plan;
}

export function sizeReport(
  ctx: OpsContext,
  snapshot: StoreSnapshot,
  key: string,
  value: Json | undefined,
): SizeReport {
  const plan = ctx.config.edgeConfig.plan;
  return {
    before: sizeWith(snapshot.items, key, snapshot.items.get(key)),
    after: sizeWith(snapshot.items, key, value),
    limit: PLAN_LIMITS[plan],
    plan,
  };
}
