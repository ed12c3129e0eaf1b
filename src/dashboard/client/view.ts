/**
 * The dashboard page's small DOM and formatting helpers: every value goes into the page through
 * textContent, never as HTML, and a refresh never moves the keyboard focus.
 */
import type { SwitchEntry } from "../api.js";

const meta = (name: string): string | undefined =>
  document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content;
export const ACTIONS = meta("containment-actions") === "on";
export const CSRF = meta("containment-csrf") ?? "";
/** The dashboard's own URL path (ending in `/`); API paths are built on it. */
const BASE = meta("containment-base") ?? "";
export const api = (path: string): string => `${BASE}api/v1/${path}`;

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (!found) throw new Error(`missing #${id}`);
  return found as T;
};

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string | number,
  attrs: Record<string, string> = {},
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

export function row(cells: Array<string | number | Node>, header = 0): HTMLTableRowElement {
  const tr = el("tr");
  cells.forEach((cell, i) => {
    const td = i < header ? el("th", undefined, { scope: "row" }) : el("td");
    if (cell instanceof Node) td.append(cell);
    else td.textContent = String(cell);
    tr.append(td);
  });
  return tr;
}

/**
 * Replaces a table's rows only when what they show changed, and puts the keyboard focus back on the
 * same control (by accessible name) when it did: a refresh every few seconds must never pull the
 * focus out from under a keyboard user.
 */
export function fill(tableId: string, rows: HTMLTableRowElement[], empty: string): void {
  const table = $<HTMLTableElement>(tableId);
  const tbody = table.tBodies[0];
  if (!tbody) return;
  const columns = table.tHead?.rows[0]?.cells.length ?? 1;
  if (rows.length === 0) {
    const td = el("td", empty, { colspan: String(columns), class: "empty" });
    const tr = el("tr");
    tr.append(td);
    rows = [tr];
  }
  const key = rows.map((r) => r.innerHTML).join("\n");
  if (table.dataset.key === key) return;
  table.dataset.key = key;
  const focused = document.activeElement;
  const focusName = focused && tbody.contains(focused) ? focused.getAttribute("aria-label") : null;
  tbody.replaceChildren(...rows);
  if (focusName !== null) {
    const again = [...tbody.querySelectorAll<HTMLElement>("[aria-label]")].find(
      (node) => node.getAttribute("aria-label") === focusName,
    );
    (again ?? table).focus();
  }
}

/** Times are UTC everywhere, as in the CLI and the audit trail, with the zone written out. */
export const clock = (ms: number): string => `${new Date(ms).toISOString().slice(11, 19)} UTC`;
/** `HH:MM` of a minute bucket, UTC (the zone is named by the column or the sentence around it). */
export const minuteLabel = (minute: number): string => new Date(minute * 60_000).toISOString().slice(11, 16);
/** `2026-12-07 05:41 UTC`. */
export const dateTime = (ms: number): string =>
  `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;

/** The viewer's own zone, labelled, for the header: the page itself stays in UTC. */
export function viewerZone(now: number): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local";
  const offset = -new Date(now).getTimezoneOffset();
  const sign = offset < 0 ? "−" : "+";
  const hh = String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0");
  const mm = String(Math.abs(offset) % 60).padStart(2, "0");
  const local = new Date(now + offset * 60_000).toISOString().slice(11, 16);
  return `All times are UTC. Your zone: ${zone} (UTC${sign}${hh}:${mm}), now ${local} there.`;
}

export function duration(ms: number): string {
  const abs = Math.abs(ms);
  const h = Math.floor(abs / 3_600_000);
  const m = Math.floor((abs % 3_600_000) / 60_000);
  const s = Math.floor((abs % 60_000) / 1000);
  if (h >= 48) return `${Math.floor(h / 24)} d ${h % 24} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min`;
  return `${s} s`;
}

export const ago = (now: number, at: number): string =>
  at > 0 ? `${duration(now - at)} ago (${clock(at)})` : "—";

export function scopeOf(s: SwitchEntry): string {
  const parts = [`${s.methods?.join(", ") ?? "all methods"} ${s.path}`];
  if (s.tenants) parts.push(`tenants ${s.tenants.join(", ")}`);
  if (s.hosts) parts.push(`hosts ${s.hosts.join(", ")}`);
  return `${parts.join("; ")} → ${s.status}`;
}

export function button(
  label: string,
  accessibleName: string,
  onClick: (b: HTMLButtonElement) => void,
): HTMLButtonElement {
  const b = el("button", label, { type: "button", "aria-label": accessibleName });
  b.addEventListener("click", () => onClick(b));
  return b;
}
