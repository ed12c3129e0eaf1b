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
  /**
   * A reading with a first segment removed only because it looks like a locale (`/fr/x` read as
   * `/x`) while no configured locale says so: kill switches, rate limits and headers rules match it,
   * tenant binding and path tenancy do not (docs/rules.md, "Locale prefixes").
   */
  readonly localeGuess?: true;
}

export type PathFault = "path-control-character" | "path-bad-encoding" | "path-too-long";

export type PathResult =
  | { ok: true; candidates: readonly PathCandidate[]; display: string }
  | { ok: false; fault: PathFault };

export interface PathOptions {
  /** The app's Next.js `basePath`, e.g. `/docs`; stripped before matching. */
  basePath?: string;
  /**
   * Locale prefixes (Next.js i18n), e.g. `["en", "de"]`; a leading locale segment is also tried
   * without it, for every rule. Without them a locale-shaped first segment is still tried without
   * it, for blocking rules only (see `localeGuess`).
   */
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

/** What canonicalSegment answers for `..`: the segment climbs one level. */
const PARENT: unique symbol = Symbol("parent");

/**
 * One raw segment in canonical form: its `;param` noise and trailing dots (IIS and some proxies strip
 * them) removed; `undefined` when nothing is left (empty, `.`); PARENT for `..`. The general path and
 * the fast path both decide with it, so a form added here is seen by both.
 */
function canonicalSegment(part: string): string | typeof PARENT | undefined {
  const semicolon = part.indexOf(";");
  const bare = semicolon === -1 ? part : part.slice(0, semicolon);
  if (bare === ".." && MECHANISMS.dotSegments) return PARENT;
  // Hot path: the regex only when there is a trailing dot to strip.
  const trimmed = bare.charCodeAt(bare.length - 1) === 46 ? bare.replace(/\.+$/, "") : bare;
  return trimmed.length === 0 ? undefined : trimmed;
}

/** Drops empty, `.` and `;param` noise, resolves `..`, and strips trailing dots. */
function canonicalSegments(parts: readonly string[]): string[] {
  const out: string[] = [];
  for (const part of parts) {
    const segment = canonicalSegment(part);
    if (segment === PARENT) out.pop();
    else if (segment !== undefined) out.push(segment);
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
  const lower = lowerSegments(segments);
  for (const existing of list) if (sameSegments(existing.lower, lower)) return;
  list.push({ segments, lower });
}

/** Adds a guessed-locale reading unless any equal reading is listed (an exact one always wins). */
function addGuess(
  guesses: PathCandidate[],
  exact: readonly PathCandidate[],
  segments: readonly string[],
): void {
  const lower = lowerSegments(segments);
  for (const existing of exact) if (sameSegments(existing.lower, lower)) return;
  for (const existing of guesses) if (sameSegments(existing.lower, lower)) return;
  guesses.push({ segments, lower, localeGuess: true });
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
/** Options objects are built once per app (createContainment): prepared once, not per request. */
const preparedCache = new WeakMap<PathOptions, PreparedOptions>();

/** Base path and locales in matching form; nothing to build (per request) when neither is set. */
function prepare(options: PathOptions): PreparedOptions {
  if (options.basePath === undefined && (options.locales === undefined || options.locales.length === 0))
    return NO_OPTIONS;
  const cached = preparedCache.get(options);
  if (cached) return cached;
  const prepared: PreparedOptions = {
    basePath: canonicalSegments((options.basePath ?? "").toLowerCase().split("/")),
    locales: new Set((options.locales ?? []).map((locale) => locale.toLowerCase())),
  };
  preparedCache.set(options, prepared);
  return prepared;
}

function lowerSegments(segments: readonly string[]): string[] {
  return segments.map((segment) => segment.toLowerCase());
}

/** A reading with the configured base path removed (the same reading when it does not start with it). */
function withoutBasePath(reading: string[], basePath: readonly string[]): string[] {
  return basePath.length > 0 && MECHANISMS.basePath && startsWith(reading, basePath)
    ? reading.slice(basePath.length)
    : reading;
}

/** A form is also read without its first segment (lower-cased here) when that is a configured locale. */
function isLocale(first: string | undefined, locales: ReadonlySet<string> | undefined): boolean {
  if (locales === undefined || !MECHANISMS.locales) return false;
  return first !== undefined && locales.has(first);
}

/**
 * A BCP 47-shaped first segment, as i18n libraries put in the path (next-intl, next-i18next,
 * Paraglide, a hand-written `[lang]` segment): a 2-3 letter language, then up to two subtags
 * (script, region, variant) joined by `-` or `_`; `en`, `pt-BR`, `zh-Hant-TW`, `es_419`. Lower-case
 * input. `api` is the one 3-letter word no app uses as a locale and almost every app uses as a
 * route: reading `/api/x` as `/x` would put every API route under every page rule.
 */
const LOCALE_SHAPE = /^[a-z]{2,3}(?:[-_][a-z0-9]{2,8}){0,2}$/;
const NOT_A_LOCALE = "api";

/** A first segment (lower-cased) read as a locale prefix although no configured locale names it. */
function looksLikeLocale(first: string | undefined): boolean {
  if (first === undefined || first.length > 20 || !MECHANISMS.locales) return false;
  return first !== NOT_A_LOCALE && LOCALE_SHAPE.test(first);
}

/**
 * The path splits differently once decoded (`%`) or at backslashes: more than one reading is possible,
 * so only the general path may answer. The same tests choose the general path's readings.
 */
const mayReadTwice = (rawPath: string): boolean => rawPath.includes("%");
const hasBackslash = (rawPath: string): boolean => rawPath.includes("\\");

/**
 * Fast path: the single candidate of a path the general path would return exactly as sent (most
 * requests), or undefined. Decided by the general path's own steps (canonicalSegment, the base path,
 * unwrapForms, the locale test), so any form they learn is seen here too; the property test in
 * test/rules/properties.test.ts checks both paths give the same candidates.
 */
function unchangedReading(rawPath: string, prepared: PreparedOptions): PathCandidate | undefined {
  if (mayReadTwice(rawPath) || hasBackslash(rawPath)) return undefined;
  // The empty part before the leading "/" is the one part the general path drops without a change.
  if (rawPath.charCodeAt(0) !== 47) return undefined;
  const segments = rawPath.slice(1).split("/");
  for (const segment of segments) if (canonicalSegment(segment) !== segment) return undefined;
  if (withoutBasePath(segments, prepared.basePath) !== segments) return undefined;
  if (unwrapForms(segments).length !== 1) return undefined;
  // Most paths are lower case already: then the segments are their own lower-cased form (no
  // character of a string that lower-cases to itself changes in any segment of it either).
  const lower = rawPath.toLowerCase() === rawPath ? segments : lowerSegments(segments);
  if (isLocale(lower[0], prepared.locales) || looksLikeLocale(lower[0])) return undefined;
  return { segments, lower };
}

/** Every reading of a path (see normalizePath); the fast path must agree with it wherever it answers. */
function generalPath(rawPath: string, prepared: PreparedOptions): PathResult {
  // Most paths have no backslash and no percent sign: a plain split, and one reading instead of two
  // (without "%" the decode-then-split reading is identical, so it could only add duplicates).
  const parts = hasBackslash(rawPath) ? rawPath.split(SEPARATORS) : rawPath.split("/");
  let readings: string[][];
  if (!mayReadTwice(rawPath)) {
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

  const candidates: PathCandidate[] = [];
  const guessed: string[][] = [];
  for (const reading of readings) {
    for (const form of unwrapForms(withoutBasePath(reading, prepared.basePath))) {
      addCandidate(candidates, form);
      const first = form[0]?.toLowerCase();
      if (isLocale(first, prepared.locales)) addCandidate(candidates, form.slice(1));
      else if (looksLikeLocale(first)) guessed.push(form.slice(1));
    }
  }
  const primary = candidates[0]?.segments ?? [];
  const display = `/${primary.join("/")}`;
  if (guessed.length === 0) return { ok: true, candidates, display };
  // Guesses go last, so a rule that matches an exact reading never reads a guessed one's parameters.
  const guesses: PathCandidate[] = [];
  for (const segments of guessed) addGuess(guesses, candidates, segments);
  return { ok: true, candidates: [...candidates, ...guesses], display };
}

function checked(rawPath: string): PathResult | undefined {
  if (rawPath.length > MAX_PATH_LENGTH) return { ok: false, fault: "path-too-long" };
  if (CONTROL.test(rawPath)) return { ok: false, fault: "path-control-character" };
  return undefined;
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
  const refused = checked(rawPath);
  if (refused) return refused;
  const prepared = prepare(options);
  const fast = unchangedReading(rawPath, prepared);
  if (fast) return { ok: true, candidates: [fast], display: rawPath };
  return generalPath(rawPath, prepared);
}

/** The general path alone, never the fast path: what the property test compares the fast path with. */
export function normalizePathGeneral(rawPath: string, options: PathOptions = {}): PathResult {
  return checked(rawPath) ?? generalPath(rawPath, prepare(options));
}

/** Whether normalizePath answers `rawPath` by its fast path (tests: the property test must exercise both). */
export function takesFastPath(rawPath: string, options: PathOptions = {}): boolean {
  return checked(rawPath) === undefined && unchangedReading(rawPath, prepare(options)) !== undefined;
}
