/**
 * Kill switches as Edge Config holds them, read with the connection string's read token (the same
 * read access the middleware has; never the Vercel API token). Plain fetch of `GET /<id>/items`, not
 * `@vercel/edge-config`: that client reads `process.env` at call time, which the edge runtime of a
 * mounted handler may not have, and one request is all the dashboard needs.
 */
import { withDeadline } from "../core/deadline.js";
import { AUDIT_ANCHOR_ITEM, KILL_SWITCH_PREFIX } from "../model/edge-config-items.js";
import { validateKillSwitchItem } from "../rules/validate.js";
import type { SwitchEntry } from "./api.js";

/** Expiring within this long is shown as `expiring`. */
export const EXPIRING_MS = 15 * 60_000;

/** `https://edge-config.vercel.com/ecfg_x?token=T` → the items URL and the token; undefined if malformed. */
export function parseConnection(connection: string): { itemsUrl: string; token: string } | undefined {
  let url: URL;
  try {
    url = new URL(connection);
  } catch {
    return undefined;
  }
  const token = url.searchParams.get("token");
  const id = url.pathname.replace(/\/+$/, "");
  if (!token || !/^\/[\w-]+$/.test(id) || !/^https?:$/.test(url.protocol)) return undefined;
  return { itemsUrl: `${url.origin}${id}/items?version=1`, token };
}

/** The kill switches and the audit anchor item (`containment_audit_head`), from one read. */
export async function readEdgeConfig(
  connection: string,
  now: number,
  timeoutMs: number,
  fetcher: typeof fetch = fetch,
): Promise<{ switches: SwitchEntry[]; anchor: unknown }> {
  const parsed = parseConnection(connection);
  if (!parsed) throw new Error("the Edge Config connection string is malformed");
  const response = await withDeadline(
    fetcher(parsed.itemsUrl, { headers: { authorization: `Bearer ${parsed.token}` } }),
    timeoutMs,
    "Edge Config read",
  );
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`Edge Config answered ${response.status}`);
  }
  const items = (await withDeadline(response.json(), timeoutMs, "Edge Config read")) as Record<
    string,
    unknown
  >;
  return { switches: switchesFromItems(items, now), anchor: items?.[AUDIT_ANCHOR_ITEM] };
}

export function switchesFromItems(items: Record<string, unknown>, now: number): SwitchEntry[] {
  const out: SwitchEntry[] = [];
  for (const [key, value] of Object.entries(items ?? {})) {
    if (!key.startsWith(KILL_SWITCH_PREFIX)) continue;
    const checked = validateKillSwitchItem(key, value);
    if (!checked.ok) continue;
    const spec = checked.value;
    const raw = value as { version?: unknown };
    const version = Number.isInteger(raw.version) ? (raw.version as number) : 0;
    const entry: SwitchEntry = {
      id: spec.id,
      version,
      path: Array.isArray(spec.match.path) ? spec.match.path.join(" | ") : (spec.match.path as string),
      status: spec.status ?? 503,
      monitor: spec.mode === "monitor",
      state: "active",
    };
    if (spec.match.methods) entry.methods = [...spec.match.methods];
    if (spec.match.tenants) entry.tenants = [...spec.match.tenants];
    if (spec.match.hosts) entry.hosts = [...spec.match.hosts];
    if (spec.incident !== undefined) entry.incident = spec.incident;
    if (spec.reason !== undefined) entry.reason = spec.reason;
    if (spec.by !== undefined) entry.by = spec.by;
    if (spec.at !== undefined) entry.at = spec.at;
    if (spec.expiresAt !== undefined) {
      entry.expiresAt = spec.expiresAt;
      entry.msLeft = Date.parse(spec.expiresAt) - now;
      entry.state = entry.msLeft <= 0 ? "expired" : entry.msLeft <= EXPIRING_MS ? "expiring" : "active";
    }
    out.push(entry);
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** Without Edge Config access: the `id@version` names isolates report enforcing. */
export function switchesFromReports(names: Iterable<string>): SwitchEntry[] {
  const seen = new Map<string, SwitchEntry>();
  for (const name of names) {
    const at = name.lastIndexOf("@");
    const id = at > 0 ? name.slice(0, at) : name;
    const version = at > 0 ? Number(name.slice(at + 1)) || 0 : 0;
    const known = seen.get(id);
    if (known && known.version >= version) continue;
    seen.set(id, { id, version, path: "(not readable here)", status: 503, monitor: false, state: "active" });
  }
  return [...seen.values()].sort((a, b) => a.id.localeCompare(b.id));
}
