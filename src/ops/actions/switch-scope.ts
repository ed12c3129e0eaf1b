/**
 * What a replacement switch blocks compared with the one it replaces (docs/runbook.md, "A second
 * kill on the same route"). A replacement that blocks LESS reopens part of a leak, so it needs the
 * responder's explicit `--narrow`: `narrowings` names every way it does, and `switchDiff` is the
 * field-by-field old → new a confirmation shows.
 *
 * "Less" is precise: any request the old switch blocked (at any time before its expiry) that the new
 * one would serve. So a tenant, method or host dropped from a list is narrower, a list added where
 * there was none is narrower, a list removed is wider; a path is narrower unless some new pattern
 * covers it; monitor instead of enforce, an earlier expiry, or another incident is narrower.
 */
import type { MatchSpec } from "../../rules/common.js";
import { type PatternSegment, parsePattern } from "../../rules/pattern.js";
import type { SwitchItem } from "./switch-item.js";

function pathsOf(match: MatchSpec): string[] {
  return Array.isArray(match.path) ? [...match.path] : [match.path];
}

/** Whether every path `inner` matches, `outer` matches too (segment by segment). */
export function patternCovers(outer: string, inner: string): boolean {
  const a = parsePattern(outer);
  const b = parsePattern(inner);
  if (typeof a === "string" || typeof b === "string") return outer === inner;
  return segmentsCover(a, b);
}

function segmentsCover(a: readonly PatternSegment[], b: readonly PatternSegment[]): boolean {
  for (const [index, outer] of a.entries()) {
    if (outer.type === "rest") return true;
    const inner = b[index];
    if (inner === undefined || inner.type === "rest") return false;
    if (outer.type === "literal" && (inner.type !== "literal" || inner.value !== outer.value)) return false;
  }
  return a.length === b.length;
}

/** Members of `before` the `after` list lets through; `after` undefined means "all" (drops none). */
function dropped(before: readonly string[] | undefined, after: readonly string[] | undefined): string[] {
  if (after === undefined) return [];
  const kept = new Set(after.map((v) => v.toLowerCase()));
  if (before === undefined) return ["(all)"];
  return before.filter((v) => !kept.has(v.toLowerCase()));
}

const expiryMs = (item: SwitchItem): number =>
  item.expiresAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(item.expiresAt);

/** Whether the switch blocks anything at `now`: enforcing and not yet expired. */
export function inForce(item: SwitchItem, now: number): boolean {
  return item.mode !== "monitor" && expiryMs(item) > now;
}

/**
 * Every way `after` blocks less than `before`, one phrase each; empty when it blocks the same or
 * more. A `before` no longer in force (expired, monitor only) cannot be narrowed in what it blocks,
 * though moving it to another incident still counts.
 */
export function narrowings(before: SwitchItem, after: SwitchItem, now: number): string[] {
  const out: string[] = [];
  if ((before.incident ?? "") !== (after.incident ?? ""))
    out.push(`moves from incident ${before.incident ?? "(none)"} to ${after.incident ?? "(none)"}`);
  if (!inForce(before, now)) return out;
  const lostPaths = pathsOf(before.match).filter(
    (old) => !pathsOf(after.match).some((next) => patternCovers(next, old)),
  );
  if (lostPaths.length > 0) out.push(`no longer blocks path ${lostPaths.join(", ")}`);
  for (const field of ["tenants", "methods", "hosts"] as const) {
    const lost = dropped(before.match[field], after.match[field]);
    if (lost.length === 0) continue;
    out.push(
      lost[0] === "(all)"
        ? `restricts ${field} to ${after.match[field]?.join(",")} (was every one)`
        : `drops ${field} ${lost.join(",")}`,
    );
  }
  if (after.mode === "monitor") out.push("only monitors (was blocking)");
  if (expiryMs(after) < expiryMs(before))
    out.push(`ends sooner: ${after.expiresAt} (was ${before.expiresAt ?? "until lifted"})`);
  return out;
}

export interface FieldChange {
  field: string;
  from: string;
  to: string;
}

function listText(values: readonly string[] | undefined): string {
  return values === undefined ? "(all)" : values.join(",");
}

/** The fields a confirmation shows, old → new, each whether or not it changed. */
export function switchDiff(before: SwitchItem | undefined, after: SwitchItem): FieldChange[] {
  const row = (field: string, of: (item: SwitchItem) => string): FieldChange => ({
    field,
    from: before === undefined ? "-" : of(before),
    to: of(after),
  });
  return [
    row("paths", (i) => pathsOf(i.match).join(" ")),
    row("tenants", (i) => listText(i.match.tenants)),
    row("methods", (i) => listText(i.match.methods)),
    row("hosts", (i) => listText(i.match.hosts)),
    row("expiry", (i) => i.expiresAt ?? "until lifted"),
    row("incident", (i) => i.incident ?? "(none)"),
    row("mode", (i) => (i.mode === "monitor" ? "monitor" : `block ${i.status ?? 503}`)),
  ];
}

/** The diff as lines for a terminal: changed fields marked `*`. */
export function describeDiff(diff: readonly FieldChange[]): string[] {
  return diff.map(({ field, from, to }) =>
    from === to ? `    ${field.padEnd(9)}${to}` : `  * ${field.padEnd(9)}${from} → ${to}`,
  );
}
