/**
 * The attack corpus runner. Cases live in `test/corpus/families/*.json` (declarative, in the spirit
 * of OWASP CRS's go-ftw tests: a request in, an expected verdict out, each with a family and an id);
 * every attack has a benign twin that must pass. A case fails when the canary origin serves a
 * request the rules block, when a benign twin does not reach it, or when the status differs.
 *
 * Two targets run the same cases:
 * - `dev`: raw HTTP/1.1 over a socket to `containment dev` (real workerd, real Redis through the
 *   Upstash bridge), so request targets, repeated headers and methods arrive exactly as written;
 * - `node`: the same middleware in this process (what the ablation test switches mechanisms in),
 *   with the runner playing the front server (drops client x-real-ip/x-forwarded-*, sets its own).
 *   Cases that need the socket (raw targets, refused methods, source addresses) run in `dev` only.
 */
import { createHmac, type KeyObject, sign } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const CORPUS_DIR = dirname(fileURLToPath(import.meta.url));
export const CORPUS_SECRET = "corpus-secret-0123456789-abcdefghijklmnop";
const OTHER_SECRET = "another-secret-0123456789-abcdefghijklmno";
const ISSUER = "https://id.corpus.test/";
const AUDIENCE = "corpus-api";

export interface Expect {
  /** The status the client must get (one of them, when a list). */
  status?: number | number[];
  /** Whether the canary origin must have served it. Attacks default to false, benign twins to true. */
  served?: boolean;
  /** The rule id in the firewall's answer body. */
  rule?: string;
  /** Response headers that must be present with exactly these values. */
  headers?: Record<string, string>;
}

export interface Step {
  /** `"METHOD target"`, the request line as sent (`target` verbatim: origin-form, absolute-form…). */
  request: string;
  headers?: Array<[string, string]>;
  body?: string;
  /** Source address of the socket (`dev` only): 127.0.0.2 etc. on Linux loopback. */
  from?: string;
  /** Send this step this many times, each expected alike. */
  repeat?: number;
  expect?: Expect;
}

export interface Side extends Step {
  /** A sequence instead of one request (rate limits): the case passes when every step does. */
  steps?: Step[];
}

export interface Pair {
  id: string;
  title: string;
  /** Needs the raw socket (refused methods, raw targets, source addresses): `dev` target only. */
  devOnly?: boolean;
  /**
   * Needs a client address the loopback cannot take (IPv6 beyond ::1, a platform header holding a
   * list): `node` target only, where the runner plays the platform and sets `x-real-ip` to `from`.
   */
  nodeOnly?: boolean;
  attack: Side;
  benign: Side;
}

export interface Family {
  family: string;
  description: string;
  pairs: Pair[];
}

export interface Case {
  id: string;
  family: string;
  kind: "attack" | "benign";
  title: string;
  devOnly: boolean;
  nodeOnly: boolean;
  steps: Step[];
}

function loadFamilies(): Family[] {
  const dir = join(CORPUS_DIR, "families");
  return readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(dir, name), "utf8")) as Family);
}

function stepsOf(side: Side, kind: Case["kind"]): Step[] {
  const raw = side.steps ?? [side];
  return raw.map((step) => ({
    ...step,
    expect: { served: kind === "benign", ...(kind === "benign" ? { status: 200 } : {}), ...step.expect },
  }));
}

export function loadCases(): Case[] {
  const out: Case[] = [];
  for (const family of loadFamilies()) {
    for (const pair of family.pairs) {
      const devOnly = pair.devOnly === true;
      const nodeOnly = pair.nodeOnly === true;
      out.push({
        id: `${pair.id}a`,
        family: family.family,
        kind: "attack",
        title: pair.title,
        devOnly,
        nodeOnly,
        steps: stepsOf(pair.attack, "attack"),
      });
      out.push({
        id: `${pair.id}b`,
        family: family.family,
        kind: "benign",
        title: pair.title,
        devOnly,
        nodeOnly,
        steps: stepsOf(pair.benign, "benign"),
      });
    }
  }
  return out;
}

/* ---------- tokens: `{{hs:NAME}}` etc. in header values, minted per run ---------- */

export interface TokenKeys {
  rsaPrivate: KeyObject;
  rsaPublicPem: string;
  strangerPrivate: KeyObject;
  attackerPrivate: KeyObject;
  attackerJwk: Record<string, unknown>;
}

const b64 = (value: string | Buffer) => Buffer.from(value).toString("base64url");

/** Claims: `exp`, `nbf`, `iat` given as "+600" / "-60" are seconds relative to now. */
function claimsOf(spec: Record<string, unknown>, now: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: "user-1",
    iat: now - 10,
    exp: now + 600,
  };
  for (const [key, value] of Object.entries(spec)) {
    if (value === null) delete out[key];
    else if (typeof value === "string" && /^[+-]\d+$/.test(value)) out[key] = now + Number(value);
    else out[key] = value;
  }
  return out;
}

/**
 * A token from its description `{"key": "hs"|"hs-other"|"rs"|"rs-stranger"|"attacker"|"hs-pubkey"|"none",
 * "header": {...}, "claims": {...}}`. Built by hand, not with jose, so headers jose would refuse to
 * sign (`crit`, foreign `jku`) can be written.
 */
function mintToken(
  description: Record<string, unknown>,
  keys: TokenKeys,
  now = Math.floor(Date.now() / 1000),
): string {
  const key = String(description.key ?? "hs");
  const alg = key.startsWith("hs") ? "HS256" : key === "none" ? "none" : "RS256";
  const header: Record<string, unknown> = {
    alg,
    typ: "JWT",
    ...(key === "rs" ? { kid: "corpus-1" } : {}),
    ...(description.header as object),
  };
  if (header.jwk === "ATTACKER_JWK") header.jwk = keys.attackerJwk;
  const payload = claimsOf((description.claims as Record<string, unknown>) ?? {}, now);
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}`;
  const hmac = (secret: string | Buffer) => createHmac("sha256", secret).update(input).digest("base64url");
  switch (key) {
    case "hs":
      return `${input}.${hmac(CORPUS_SECRET)}`;
    case "hs-other":
      return `${input}.${hmac(OTHER_SECRET)}`;
    case "hs-pubkey":
      return `${input}.${hmac(keys.rsaPublicPem)}`;
    case "none":
      return `${input}.`;
    case "rs":
      return `${input}.${sign("sha256", Buffer.from(input), keys.rsaPrivate).toString("base64url")}`;
    case "rs-stranger":
      return `${input}.${sign("sha256", Buffer.from(input), keys.strangerPrivate).toString("base64url")}`;
    case "attacker":
      return `${input}.${sign("sha256", Buffer.from(input), keys.attackerPrivate).toString("base64url")}`;
    default:
      throw new Error(`corpus: unknown token key ${key}`);
  }
}

/** Replaces `{{token {...json...}}}` in header values with a minted token. */
export function expandHeaders(
  headers: Array<[string, string]> | undefined,
  keys: TokenKeys,
): Array<[string, string]> {
  return (headers ?? []).map(([name, value]) => [
    name,
    value.replace(/\{\{token (\{.*\})\}\}/g, (_all, json: string) => mintToken(JSON.parse(json), keys)),
  ]);
}

/* ---------- sending ---------- */

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface Target {
  name: "dev" | "node";
  send(step: Step, headers: Array<[string, string]>): Promise<Answer>;
  /** Requests the canary origin has served so far. */
  served(): number;
}

function splitRequestLine(line: string): [string, string] {
  const space = line.indexOf(" ");
  return [line.slice(0, space), line.slice(space + 1)];
}

function dechunk(raw: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", at);
    if (lineEnd === -1) return out;
    const size = Number.parseInt(raw.slice(at, lineEnd), 16);
    if (!Number.isFinite(size) || size === 0) return out;
    out += raw.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

/** One raw HTTP/1.1 exchange: the request exactly as written, `Connection: close`, the answer parsed. */
export function rawExchange(port: number, step: Step, headers: Array<[string, string]>): Promise<Answer> {
  const [method, target] = splitRequestLine(step.request);
  const lines = [`${method} ${target} HTTP/1.1`];
  const hasHost = headers.some(([name]) => name.toLowerCase() === "host");
  if (!hasHost) lines.push(`Host: app.corpus.test`);
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  const body = step.body ?? "";
  if (body.length > 0 || ["POST", "PUT", "PATCH", "DELETE"].includes(method))
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  lines.push("Connection: close", "", body);
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", ...(step.from ? { localAddress: step.from } : {}) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`corpus: no answer to ${step.request}`)), 15_000);
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const head = (end === -1 ? text : text.slice(0, end)).split("\r\n");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? "")?.[1] ?? 0);
      const parsed: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const raw = end === -1 ? "" : text.slice(end + 4);
      resolve({
        status,
        headers: parsed,
        body: parsed["transfer-encoding"] === "chunked" ? dechunk(raw) : raw,
      });
    });
    socket.write(lines.join("\r\n"));
  });
}

/* ---------- checking ---------- */

export interface CaseResult {
  case: Case;
  ok: boolean;
  detail: string;
}

function statusMatches(expected: Expect["status"], actual: number): boolean {
  if (expected === undefined) return true;
  return Array.isArray(expected) ? expected.includes(actual) : expected === actual;
}

function ruleOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { rule?: string }).rule;
  } catch {
    return undefined;
  }
}

const PUBLIC_KEYS = new Set(["error", "rule", "incident", "requestId"]);

/** A body the firewall or the dev server wrote must be public JSON: no stack, no runtime message. */
function leak(body: string): string | undefined {
  if (body.length === 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return `a non-JSON body: ${body.slice(0, 80)}`;
  }
  if (parsed === null || typeof parsed !== "object") return `body ${body.slice(0, 80)}`;
  const extra = Object.keys(parsed).filter((key) => !PUBLIC_KEYS.has(key));
  if (extra.length > 0) return `body keys ${extra.join(", ")}`;
  if (/error:|exception|stack|undici|miniflare|workerd|cannot be constructed/i.test(body))
    return `body ${body}`;
  return undefined;
}

async function runCase(target: Target, item: Case, keys: TokenKeys): Promise<CaseResult> {
  for (const [index, step] of item.steps.entries()) {
    for (let round = 0; round < (step.repeat ?? 1); round++) {
      const before = target.served();
      const answer = await target.send(step, expandHeaders(step.headers, keys));
      const served = target.served() > before;
      const expect = step.expect ?? {};
      const where = `step ${index + 1}${step.repeat ? ` round ${round + 1}` : ""} (${step.request})`;
      if (expect.served !== undefined && served !== expect.served)
        return {
          case: item,
          ok: false,
          detail: `${where}: canary ${served ? "served" : "did not serve"} it (status ${answer.status})`,
        };
      if (!statusMatches(expect.status, answer.status))
        return {
          case: item,
          ok: false,
          detail: `${where}: status ${answer.status}, expected ${JSON.stringify(expect.status)}`,
        };
      if (expect.rule !== undefined && ruleOf(answer.body) !== expect.rule)
        return {
          case: item,
          ok: false,
          detail: `${where}: rule ${ruleOf(answer.body)}, expected ${expect.rule}`,
        };
      const leaked = served ? undefined : leak(answer.body);
      if (leaked !== undefined)
        return { case: item, ok: false, detail: `${where}: internal detail in ${leaked}` };
      for (const [name, value] of Object.entries(expect.headers ?? {}))
        if (answer.headers[name] !== value)
          return {
            case: item,
            ok: false,
            detail: `${where}: header ${name}: ${answer.headers[name]}, expected ${value}`,
          };
    }
  }
  return { case: item, ok: true, detail: "" };
}

export async function runAll(target: Target, cases: readonly Case[], keys: TokenKeys): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const item of cases) {
    if (item.devOnly && target.name !== "dev") continue;
    if (item.nodeOnly && target.name !== "node") continue;
    results.push(await runCase(target, item, keys));
  }
  return results;
}

/** The per-family table: printed by the corpus test, and docs/security.md's table is this output. */
export function summary(results: readonly CaseResult[]): string {
  const families = new Map<string, { attack: number; benign: number; failed: number }>();
  for (const result of results) {
    const row = families.get(result.case.family) ?? { attack: 0, benign: 0, failed: 0 };
    row[result.case.kind]++;
    if (!result.ok) row.failed++;
    families.set(result.case.family, row);
  }
  const lines = ["| family | attacks | benign twins | failed |", "|---|---|---|---|"];
  for (const [family, row] of families)
    lines.push(`| ${family} | ${row.attack} | ${row.benign} | ${row.failed} |`);
  const failed = results.filter((result) => !result.ok);
  lines.push(
    "",
    `${results.length} cases, ${results.length - failed.length} passed, ${failed.length} failed`,
  );
  for (const result of failed)
    lines.push(`FAIL ${result.case.id} [${result.case.family}] ${result.case.title}: ${result.detail}`);
  return lines.join("\n");
}
