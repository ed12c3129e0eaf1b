/**
 * The few keys the shared mirror reader (src/ops/mirror-reader.ts) does not cover: the legacy
 * per-region `enforcing` hash (until every edge writes isolate reports), incidents (`incident:<id>`,
 * `incidents`) and the audit stream's length, head and newest entries. Read-only commands only.
 */
import type { Redis } from "@upstash/redis/cloudflare";

export interface Extras {
  enforcing: Record<string, string>;
  incidents: Array<{ id: string; fields: Record<string, string> }>;
  audit: { length: number; head?: string; recent: Array<{ id: string; fields: Record<string, string> }> };
}

const MAX_INCIDENTS = 50;

export function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function fieldsOf(flat: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(flat))
    for (let i = 0; i + 1 < flat.length; i += 2) out[text(flat[i])] = text(flat[i + 1]);
  else if (flat && typeof flat === "object") for (const [k, v] of Object.entries(flat)) out[k] = text(v);
  return out;
}

function entries(reply: unknown): Array<{ id: string; fields: Record<string, string> }> {
  if (!Array.isArray(reply)) return [];
  return reply.flatMap((e) =>
    Array.isArray(e) && e.length >= 2 ? [{ id: text(e[0]), fields: fieldsOf(e[1]) }] : [],
  );
}

export async function readExtras(redis: Redis, prefix: string): Promise<Extras> {
  const run = <T = unknown>(...args: [string, ...(string | number)[]]): Promise<T> => redis.exec<T>(args);
  const [enforcing, ids, length, head, recent] = await Promise.all([
    run("HGETALL", `${prefix}enforcing`),
    run("SMEMBERS", `${prefix}incidents`),
    run("XLEN", `${prefix}audit`),
    run("GET", `${prefix}audit:head`),
    run("XREVRANGE", `${prefix}audit`, "+", "-", "COUNT", 10),
  ]);
  const incidentIds = (Array.isArray(ids) ? ids.map(text) : []).sort().slice(-MAX_INCIDENTS);
  const incidents = await Promise.all(
    incidentIds.map(async (id) => ({
      id,
      fields: fieldsOf(await run("HGETALL", `${prefix}incident:${id}`)),
    })),
  );
  const headText = text(head);
  return {
    enforcing: fieldsOf(enforcing),
    incidents,
    audit: {
      length: Number(text(length)) || 0,
      ...(headText ? { head: headText } : {}),
      recent: entries(recent),
    },
  };
}
