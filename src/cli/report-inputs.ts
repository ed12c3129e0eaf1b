/**
 * Pieces the incident, report, evidence and rules-test commands share: times a responder types,
 * the incident defaults of `containment.json`, the chart assets the HTML report inlines, and
 * bundle directories on disk.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseDuration } from "../core/duration.js";
import { ASSET_NAMES, ASSETS } from "../dashboard/assets.gen.js";
import { PROJECT_FILE } from "../ops/config-files.js";
import { usageError } from "../ops/errors.js";
import type { ChartAssets } from "../ops/report/html.js";

/** `2026-12-01T21:40:00Z`, `now`, or a duration ago (`90m`, `2h`). */
export function parseTime(flag: string, text: string, now: number): number {
  if (text === "now") return now;
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  const at = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(text)
    ? Date.parse(text)
    : Number.NaN;
  if (!Number.isFinite(at))
    throw usageError(
      `${flag} must be an ISO 8601 time with a zone (2026-12-01T21:40:00Z), \`now\`, or a duration ago like 2h`,
    );
  return at;
}

export interface IncidentDefaults {
  hipaaRole?: string;
  gdprRole?: string;
  baaTerm?: string;
  dpaTerm?: string;
  dataClasses?: string[];
}

/** `containment.json` → `incidentDefaults` (legal roles and contractual terms), when present. */
export function readIncidentDefaults(cwd: string): IncidentDefaults {
  const file = join(cwd, PROJECT_FILE);
  if (!existsSync(file)) return {};
  try {
    const raw = JSON.parse(readFileSync(file, "utf8")) as { incidentDefaults?: IncidentDefaults };
    return raw.incidentDefaults ?? {};
  } catch {
    return {};
  }
}

/**
 * uPlot's script (with its licence line) and stylesheet, inlined into the HTML report: the copies
 * baked into the dashboard's generated assets, so the installed CLI needs no uplot package.
 */
export function loadChartAssets(): ChartAssets {
  const body = (name: string): string => {
    const asset = ASSETS[name];
    if (asset === undefined) throw new Error(`edge-containment: no dashboard asset ${name}`);
    return asset.body;
  };
  return { script: body(ASSET_NAMES.uplotJs), css: body(ASSET_NAMES.uplotCss) };
}

export function writeBundle(dir: string, files: ReadonlyMap<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of files) writeFileSync(join(dir, name), text);
}

export function readBundle(dir: string): Map<string, string> {
  if (!existsSync(dir))
    throw usageError(`${dir} does not exist: give the directory \`evidence export\` wrote`);
  const files = new Map<string, string>();
  for (const name of readdirSync(dir)) files.set(name, readFileSync(join(dir, name), "utf8"));
  return files;
}
