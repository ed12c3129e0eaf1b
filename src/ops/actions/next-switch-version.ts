/**
 * The version a kill switch created again starts at. Isolates report switches as `id@version`, and
 * `--wait` confirms "this id at this version": were a lifted id created again at version 1, an
 * isolate that never saw the lift (still enforcing the old `id@1`, maybe a narrower scope) would
 * confirm the new switch. So versions continue across a lift, from the audit trail's record of
 * the item; without Redis (or past a short deadline) it starts at 1 again, as before.
 */
import { withDeadline } from "../../core/deadline.js";
import { readAudit } from "../audit/index.js";
import type { OpsContext } from "../context.js";

const DEADLINE_MS = 2_000;

function versionIn(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  const version = (value as { version?: unknown }).version;
  return typeof version === "number" && Number.isInteger(version) && version > 0 ? version : 0;
}

/** The highest version the item `key` ever had in the audit trail; 0 when none (or unknown). */
export async function lastRecordedVersion(ctx: OpsContext, key: string): Promise<number> {
  if (ctx.audit.redis === undefined) return 0;
  try {
    const records = await withDeadline(readAudit(ctx.audit), DEADLINE_MS, "audit read");
    let max = 0;
    for (const { entry } of records)
      if (entry.key === key) max = Math.max(max, versionIn(entry.before), versionIn(entry.after));
    return max;
  } catch {
    // Containment comes first: an unreadable trail only costs the continued numbering.
    return 0;
  }
}
