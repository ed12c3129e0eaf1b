/**
 * Path canonicalization. A block rule must match however a path is spelled when the origin would
 * route the spelling to the same handler, so a request path becomes one or more *candidates*: every
 * plausible reading of it, each decoded exactly once. A rule matches when any candidate matches.
 */

export interface PathCandidate {
  /** Decoded segments, original case (captured parameters keep it). */
  readonly segments: readonly string[];
  /** The same segments lower-cased: what patterns are matched against. */
  readonly lower: readonly string[];
}

export type PathFault = "path-control-character" | "path-bad-encoding" | "path-too-long";

export type PathResult =
  | { ok: true; candidates: readonly PathCandidate[]; display: string }
  | { ok: false; fault: PathFault };

export interface PathOptions {
  /** The app's Next.js `basePath`, e.g. `/docs`; stripped before matching. */
  basePath?: string;
  /** Locale prefixes (Next.js i18n), e.g. `["en", "de"]`; a leading locale segment is also tried without it. */
  locales?: readonly string[];
}

import { MECHANISMS } from "./mechanisms.js";

const MAX_PATH_LENGTH = 8192;
// C0 controls, DEL and C1 controls: servers disagree on them (truncate at NUL, split at CR/LF).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const SEPARATORS = /[/\\]/;

function decodeOnce(text: string): string | undefined {
  if (!text.includes("%")) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** Drops empty, `.` and `;param` noise, resolves `..`, and strips trailing dots like IIS and some proxies. */
function canonicalSegments(parts: readonly string[]): string[] {
  const out: string[] = [];
  for (const part of parts) {
    const semicolon = part.indexOf(";");
    const bare = semicolon === -1 ? part : part.slice(0, semicolon);
    if (bare === ".." && MECHANISMS.dotSegments) {
      out.pop();
      continue;
    }
    // Hot path: the regex only when there is a trailing dot to strip.
    const trimmed = bare.charCodeAt(bare.length - 1) === 46 ? bare.replace(/\.+$/, "") : bare;
    if (trimmed.length === 0) continue;
    out.push(trimmed);
  }
  return out;
}

function startsWith(segments: readonly string[], prefix: readonly string[]): boolean {
  if (prefix.length > segments.length) return false;
  return prefix.every((part, i) => segments[i]?.toLowerCase() === part);
}

/** Next.js data routes: `/_next/data/<build>/<path>.json` serves the page at `<path>`. */
function nextDataTarget(segments: readonly string[]): string[] | undefined {
  if (segments.length < 4 || segments[0] !== "_next" || segments[1]?.toLowerCase() !== "data")
    return undefined;
  const rest = segments.slice(3);
  const last = rest[rest.length - 1] ?? "";
  if (!last.toLowerCase().endsWith(".json")) return undefined;
  rest[rest.length - 1] = last.slice(0, -".json".length);
  return rest.length === 1 && rest[0]?.toLowerCase() === "index" ? [] : rest;
}

/** React Server Component payloads: `/x.rsc` and `/x.prefetch.rsc` render the route `/x`. */
function rscTarget(segments: readonly string[]): string[] | undefined {
  const last = segments[segments.length - 1];
  // Cheap precheck before the regex: it can only match a segment ending in ".rsc" (any case).
  if (
    !last ||
    last.length < 4 ||
    last.charCodeAt(last.length - 4) !== 46 ||
    last.slice(-3).toLowerCase() !== "rsc"
  )
    return undefined;
  const match = /(\.prefetch)?\.rsc$/i.exec(last);
  if (!match) return undefined;
  const stem = last.slice(0, match.index);
  const out = segments.slice(0, -1);
  if (stem.length > 0 && stem.toLowerCase() !== "index") out.push(stem);
  return out;
}

/**
 * Next.js segment prefetches: the client segment cache fetches
 * `<route>.segments/<segment path>.segment.rsc` (`/x/export.segments/__PAGE__.segment.rsc`,
 * `/x/export.segments/_tree.segment.rsc`), and the server renders `<route>` for it
 * (CVE-2026-44575). Any segment ending in `.segments` that has segments after it is read as the
 * route it names, whatever follows: a rule on `/x/export` must not depend on Next's suffix spelling.
 */
function segmentPrefetchTarget(segments: readonly string[]): string[] | undefined {
  for (let i = segments.length - 2; i >= 0; i--) {
    const segment = segments[i] as string;
    // Cheap precheck (hot path): the last character must be an "s" of either case.
    if (segment.length < 9 || (segment.charCodeAt(segment.length - 1) | 32) !== 115) continue;
    if (segment.slice(-9).toLowerCase() !== ".segments") continue;
    const stem = segment.slice(0, -9);
    const out = segments.slice(0, i);
    if (stem.length > 0 && !(i === 0 && stem.toLowerCase() === "index")) out.push(stem);
    return out;
  }
  return undefined;
}

/**
 * Adds a reading unless an equal one is already listed. Compared segment by segment: the list holds
 * a handful of candidates, and no segment can contain the NUL a joined key would need (rejected above).
 */
function addCandidate(list: PathCandidate[], segments: readonly string[]): void {
  const lower = segments.map((segment) => segment.toLowerCase());
  for (const existing of list) if (sameSegments(existing.lower, lower)) return;
  list.push({ segments, lower });
}

function sameSegments(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The route a reading renders, plus the routes its Next.js data, RSC and segment-prefetch forms name. */
function unwrapForms(routed: string[]): string[][] {
  const forms = [routed];
  const data = MECHANISMS.nextData ? nextDataTarget(routed) : undefined;
  if (data) forms.push(data);
  const unwrapped = forms.length;
  for (let i = 0; i < unwrapped; i++) {
    const form = forms[i] as string[];
    const segment = MECHANISMS.segmentPrefetch ? segmentPrefetchTarget(form) : undefined;
    if (segment) forms.push(segment);
    const rsc = MECHANISMS.rscSuffix ? rscTarget(form) : undefined;
    if (rsc) forms.push(rsc);
  }
  return forms;
}

interface PreparedOptions {
  basePath: readonly string[];
  locales: ReadonlySet<string> | undefined;
}

const NO_OPTIONS: PreparedOptions = { basePath: [], locales: undefined };

/** Base path and locales in matching form; nothing to build (per request) when neither is set. */
function prepare(options: PathOptions): PreparedOptions {
  if (options.basePath === undefined && (options.locales === undefined || options.locales.length === 0))
    return NO_OPTIONS;
  return {
    basePath: canonicalSegments((options.basePath ?? "").toLowerCase().split("/")),
    locales: new Set((options.locales ?? []).map((locale) => locale.toLowerCase())),
  };
}

/**
 * Turns a raw (still percent-encoded) request path into the candidates rules are matched against.
 *
 * Readings produced: segments split before decoding (an encoded `%2F` stays inside its segment) and
 * split after decoding once (a server that decodes `%2F` routes it as a separator); each then with the
 * base path removed, Next.js data and RSC forms unwrapped, and a locale prefix removed. Nothing is
 * decoded twice: `%252F` becomes the literal text `%2F`.
 */
export function normalizePath(rawPath: string, options: PathOptions = {}): PathResult {
  if (rawPath.length > MAX_PATH_LENGTH) return { ok: false, fault: "path-too-long" };
  if (CONTROL.test(rawPath)) return { ok: false, fault: "path-control-character" };

  // Most paths have no backslash and no percent sign: a plain split, and one reading instead of two
  // (without "%" the decode-then-split reading is identical, so it could only add duplicates).
  const parts = rawPath.includes("\\") ? rawPath.split(SEPARATORS) : rawPath.split("/");
  const encoded = rawPath.includes("%");
  let readings: string[][];
  if (!encoded) {
    readings = [canonicalSegments(parts)];
  } else {
    const splitThenDecode: string[] = [];
    for (const part of parts) {
      const decoded = decodeOnce(part);
      if (decoded === undefined) return { ok: false, fault: "path-bad-encoding" };
      splitThenDecode.push(decoded);
    }
    const decodedWhole = decodeOnce(rawPath);
    if (decodedWhole === undefined) return { ok: false, fault: "path-bad-encoding" };
    if (CONTROL.test(decodedWhole)) return { ok: false, fault: "path-control-character" };
    readings = [canonicalSegments(splitThenDecode)];
    if (MECHANISMS.separatorReading) readings.push(canonicalSegments(decodedWhole.split(SEPARATORS)));
  }
  const { basePath, locales } = prepare(options);

  const candidates: PathCandidate[] = [];
  for (const reading of readings) {
    const routed =
      basePath.length > 0 && MECHANISMS.basePath && startsWith(reading, basePath)
        ? reading.slice(basePath.length)
        : reading;
    for (const form of unwrapForms(routed)) {
      addCandidate(candidates, form);
      if (locales === undefined || !MECHANISMS.locales) continue;
      const first = form[0]?.toLowerCase();
      if (first !== undefined && locales.has(first)) addCandidate(candidates, form.slice(1));
    }
  }
  const primary = candidates[0]?.segments ?? [];
  return { ok: true, candidates, display: `/${primary.join("/")}` };
}
