/**
 * Recorded requests for `rules test --requests FILE`: JSON Lines (`{"method","url"|"path",
 * "headers"?,"at"?|"ts"?,"outcome"?}` per line) or a HAR 1.2 file (`log.entries[].request`). Bad
 * input names the line (JSONL) or entry (HAR) at fault.
 */
import type { ReplayRequest } from "./replay.js";

export class ReplayInputError extends Error {
  override readonly name = "ReplayInputError";
}

function fail(where: string, message: string): never {
  throw new ReplayInputError(`edge-containment: ${where}: ${message}`);
}

function headerRecord(value: unknown, where: string): Record<string, string> {
  if (value === undefined) return {};
  if (Array.isArray(value)) {
    const out: Record<string, string> = {};
    for (const h of value) {
      const { name, value: v } = (h ?? {}) as { name?: unknown; value?: unknown };
      if (typeof name !== "string" || typeof v !== "string")
        fail(where, "headers must be {name, value} pairs");
      // HTTP/2 pseudo-headers (`:authority`) are not request headers.
      if (!name.startsWith(":")) out[name.toLowerCase()] = v;
    }
    return out;
  }
  if (typeof value !== "object" || value === null) fail(where, "headers must be an object");
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (typeof v !== "string") fail(where, `header ${name} must be a string`);
    out[name.toLowerCase()] = v;
  }
  return out;
}

function timeOf(value: unknown, where: string): number | undefined {
  if (value === undefined) return undefined;
  const at = typeof value === "number" ? value : Date.parse(String(value));
  if (!Number.isFinite(at)) fail(where, "time must be ms since the epoch or an ISO 8601 time");
  return at;
}

function fromRecord(record: unknown, where: string): ReplayRequest {
  if (record === null || typeof record !== "object" || Array.isArray(record))
    fail(where, "must be a JSON object");
  const r = record as Record<string, unknown>;
  const method = r.method ?? "GET";
  const url = r.url ?? r.path;
  if (typeof method !== "string" || !/^[A-Za-z]{1,20}$/.test(method))
    fail(where, "method must be an HTTP method");
  if (typeof url !== "string" || !(url.startsWith("/") || /^https?:\/\//.test(url)))
    fail(where, 'needs "url" (https://…) or "path" (/…)');
  const at = timeOf(r.at ?? r.ts, where);
  const out: ReplayRequest = { method: method.toUpperCase(), url, headers: headerRecord(r.headers, where) };
  if (at !== undefined) out.at = at;
  if (typeof r.outcome === "string") out.outcome = r.outcome;
  return out;
}

function parseHar(text: string, file: string): ReplayRequest[] {
  let har: unknown;
  try {
    har = JSON.parse(text);
  } catch (error) {
    fail(file, `not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const entries = (har as { log?: { entries?: unknown } })?.log?.entries;
  if (!Array.isArray(entries)) fail(file, "a HAR file needs log.entries");
  return entries.map((entry, index) => {
    const where = `${file}: log.entries[${index}]`;
    const e = (entry ?? {}) as { request?: Record<string, unknown>; startedDateTime?: unknown };
    if (!e.request) fail(where, "has no request");
    return fromRecord({ ...e.request, at: e.startedDateTime }, where);
  });
}

/** Parses a recording; `.har` (or a document with `log.entries`) is HAR, anything else JSON Lines. */
export function parseRecordedRequests(file: string, text: string): ReplayRequest[] {
  const trimmed = text.trimStart();
  if (
    file.endsWith(".har") ||
    (trimmed.startsWith("{") && /"log"\s*:/.test(trimmed.slice(0, 200)) && !trimmed.includes("\n{"))
  )
    return parseHar(text, file);
  const out: ReplayRequest[] = [];
  for (const [index, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      fail(`${file}:${index + 1}`, "not a JSON line");
    }
    out.push(fromRecord(record, `${file}:${index + 1}`));
  }
  return out;
}
