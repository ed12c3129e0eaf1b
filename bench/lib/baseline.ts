/**
 * The baseline: the middleware users write today without this library, as in Vercel's middleware
 * examples: a list of `path-to-regexp` matchers scanned in order, each with a method check, the first
 * blocking match answering, header rules collecting headers. It runs the same rules document as the
 * firewall, translated rule by rule, so both do the same job on the same requests.
 */
import { match } from "path-to-regexp";
import type { GeneratedDocument, GeneratedRule } from "./workload.js";

export interface BaselineResult {
  response?: Response;
  headers: Record<string, string>;
  /** A rate-limit or tenant-binding rule matched: the hand-written version would call out here. */
  wouldCallOut: boolean;
  blockedBy?: string;
}

interface BaselineRule {
  rule: GeneratedRule;
  methods: readonly string[] | undefined;
  tenants: readonly string[] | undefined;
  test: (path: string) => false | { params: Partial<Record<string, string | string[]>> };
}

/** `/api/:tenant/*\/x/**` → `/api/:tenant/:w2/x{/*rest}` (path-to-regexp 8 has no one-segment `*`). */
export function toPathToRegexp(pattern: string): string {
  let out = "";
  for (const [index, part] of pattern.split("/").slice(1).entries()) {
    if (part === "**") out += "{/*rest}";
    else if (part === "*") out += `/:w${index}`;
    else out += `/${part}`;
  }
  return out === "" ? "/" : out;
}

export type Baseline = {
  /** The whole middleware: parses the URL like `request.nextUrl.pathname` would, then scans. */
  handle(request: Request): BaselineResult;
  /** The scan alone, on a pathname already parsed: the baseline of "engine only". */
  scan(method: string, pathname: string): BaselineResult;
  /** The scan without building the 503 response: matching alone, against `ruleset.match()`. */
  matchOnly(method: string, pathname: string): BaselineResult;
};

export function createBaseline(document: GeneratedDocument): Baseline {
  const rules: BaselineRule[] = document.rules.map((rule) => ({
    rule,
    methods: rule.match.methods,
    tenants: rule.match.tenants,
    test: match(toPathToRegexp(rule.match.path)),
  }));

  function scan(method: string, pathname: string, respond = true): BaselineResult {
    const headers: Record<string, string> = {};
    let wouldCallOut = false;
    for (const { rule, methods, tenants, test } of rules) {
      if (methods && !methods.includes(method) && !(method === "HEAD" && methods.includes("GET"))) continue;
      const hit = test(pathname);
      if (!hit) continue;
      if (tenants) {
        const tenant = hit.params.tenant;
        if (typeof tenant !== "string" || !tenants.includes(tenant.toLowerCase())) continue;
      }
      if (rule.kind === "kill-switch") {
        if (!respond) return { headers, wouldCallOut, blockedBy: rule.id };
        const body = JSON.stringify({
          error: "This endpoint is temporarily unavailable.",
          rule: rule.id,
          incident: rule.incident,
        });
        const response = new Response(body, {
          status: 503,
          headers: { "content-type": "application/json", "cache-control": "no-store" },
        });
        return { response, headers, wouldCallOut, blockedBy: rule.id };
      }
      if (rule.kind === "headers") Object.assign(headers, rule.set as Record<string, string>);
      else wouldCallOut = true;
    }
    return { headers, wouldCallOut };
  }

  return {
    scan: (method, pathname) => scan(method, pathname),
    matchOnly: (method, pathname) => scan(method, pathname, false),
    handle: (request) => scan(request.method, new URL(request.url).pathname),
  };
}
