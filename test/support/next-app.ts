/**
 * The example Next.js apps (examples/next-app, examples/next-intl-app) for end-to-end tests: installs the package from the
 * tarball `npm pack` makes (so the `files`/`exports` map is what is tested), builds it with
 * `next build` and runs `next start`, and sends requests as raw bytes so spellings reach Next's
 * router exactly as written (Node's http client would refuse or re-encode many of them).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { connect } from "node:net";
import { join, relative, resolve } from "node:path";
import { freePort } from "./redis-server.js";
import { runsWith } from "./runs-with.js";

export const REPO = resolve(import.meta.dirname, "../..");
export const APP = join(REPO, "examples/next-app");
/** The next-intl + Auth.js example (test/next-app/next-intl-app.test.ts). */
export const INTL_APP = join(REPO, "examples/next-intl-app");

/** The example app a directory builds with: the example itself, or a variant copy inside it. */
function appOf(dir: string): string {
  return dir.startsWith(INTL_APP) ? INTL_APP : APP;
}

function nextBin(dir: string): string {
  return join(appOf(dir), "node_modules/next/dist/bin/next");
}

/** True when `npm ci` has run in the example (`npm test`'s pretest does it; a plain clone may not have). */
export function nextInstalled(app = APP): boolean {
  return existsSync(nextBin(app));
}

/** Whether the suites that need the example's Next.js run: with CI set they always do (runs-with.ts). */
export function nextSuitesRun(app = APP): boolean {
  const name = relative(REPO, app);
  return runsWith(
    nextInstalled(app),
    `${name} has no Next.js installed: \`npm test\` installs it (npm ci in ${name})`,
  );
}

/** What `npm pack` is made from, copied into the build directory. */
const PACKED_INPUTS = [
  "package.json",
  "README.md",
  "bin",
  "rules",
  "src",
  "middleware.ts",
  "tsconfig.json",
  "tsconfig.build.json",
];

/** SHA-256 over every packed input's path and bytes: the same sources make the same tarball. */
function packInputsHash(): string {
  const hash = createHash("sha256");
  const add = (path: string) => {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) add(join(path, name));
      return;
    }
    hash.update(relative(REPO, path)).update("\0").update(readFileSync(path)).update("\0");
  };
  for (const entry of PACKED_INPUTS) add(join(REPO, entry));
  return hash.digest("hex").slice(0, 16);
}

/**
 * `npm pack` of this repository, built in a copy under .tmp (so the dist/ other tests and the bin
 * use is never rewritten under them), installed into the example `app` without touching its
 * committed package.json / lock file. Returns the tarball path. The example-app test files run one
 * at a time (vitest.config.ts) and share the tarball and each example's install: the tarball of
 * exactly these sources (hash in its name) is packed once, and an example already holding it (hash
 * recorded beside it) is not installed again.
 */
export function installPackedPackage(app = APP): string {
  const out = join(REPO, ".tmp/pack");
  const hash = packInputsHash();
  const marker = join(app, "node_modules/edge-containment/.pack-inputs");
  const tarball = join(out, `edge-containment-${hash}.tgz`);
  if (existsSync(tarball) && existsSync(marker) && readFileSync(marker, "utf8") === hash) return tarball;
  if (!existsSync(tarball)) pack(out, tarball);
  execFileSync(
    "npm",
    ["install", "--no-save", "--no-audit", "--no-fund", "--prefer-offline", "--no-package-lock", tarball],
    { cwd: app, stdio: "pipe" },
  );
  writeFileSync(marker, hash);
  return tarball;
}

/** Builds this repository in a copy under .tmp and packs it to `tarball`. */
function pack(out: string, tarball: string): void {
  const work = join(REPO, ".tmp/pack-src");
  for (const dir of [work, out]) rmSync(dir, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const entry of PACKED_INPUTS) cpSync(join(REPO, entry), join(work, entry), { recursive: true });
  symlinkSync(join(REPO, "node_modules"), join(work, "node_modules"), "dir");
  execFileSync("npm", ["run", "--silent", "build"], { cwd: work, stdio: "pipe" });
  execFileSync("npm", ["pack", "--silent", "--pack-destination", out], { cwd: work, stdio: "pipe" });
  const packed = readdirSync(out).find((name) => name.endsWith(".tgz"));
  if (!packed) throw new Error("npm pack wrote no tarball");
  renameSync(join(out, packed), tarball);
}

export type Variant = "middleware" | "proxy";

/**
 * The directory a variant builds in. The middleware variant is the committed app itself; the proxy
 * variant is a copy (inside the app, so `node_modules` resolves by walking up) with proxy.ts in
 * place of middleware.ts, since Next refuses both at once.
 */
export function variantDir(variant: Variant): string {
  if (variant === "middleware") return APP;
  const dir = join(APP, ".variants/proxy");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const entry of ["app", "next.config.ts", "tsconfig.json", "containment.rules.json"])
    cpSync(join(APP, entry), join(dir, entry), { recursive: true });
  cpSync(join(APP, "variants/proxy.ts"), join(dir, "proxy.ts"));
  // The copy builds inside the example, whose node_modules Turbopack must see: root it there.
  const config = join(dir, "next.config.ts");
  writeFileSync(config, readFileSync(config, "utf8").replaceAll("import.meta.dirname", JSON.stringify(APP)));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ private: true, type: "module" }));
  return dir;
}

export interface BuildResult {
  output: string;
  ms: number;
}

/**
 * `next build` (Turbopack unless `webpack`); throws with the build's output if it fails. The output
 * is stdout and stderr together: warnings (Next's and this package's build check) go to stderr.
 */
export function nextBuild(dir: string, options: { webpack?: boolean; distDir?: string } = {}): BuildResult {
  const started = Date.now();
  const args = [nextBin(dir), "build", ...(options.webpack ? ["--webpack"] : [])];
  const result = spawnSync(process.execPath, args, {
    cwd: dir,
    env: {
      ...process.env,
      NEXT_TELEMETRY_DISABLED: "1",
      ...(options.distDir ? { EXAMPLE_DIST_DIR: options.distDir } : {}),
    },
    stdio: "pipe",
    encoding: "utf8",
    maxBuffer: 32 * 1024 * 1024,
  });
  const output = `${result.stdout ?? ""}\n${result.stderr ?? ""}`;
  if (result.status !== 0) throw new Error(`next build failed in ${dir}:\n${output}`);
  return { output, ms: Date.now() - started };
}

export interface NextServer {
  readonly port: number;
  readonly url: string;
  /** Everything the server printed (the firewall's one-line reports go to stderr). */
  output(): string;
  close(): Promise<void>;
}

/**
 * `next start` on a free port; resolves once it answers HTTP. Bound to 127.0.0.1 unless `anyHost`:
 * next-intl's rewrites name the request's origin as Next hands it to proxy.ts (`localhost`), which a
 * server started with `-H 127.0.0.1` takes for another origin and proxies to, where next-intl then
 * redirects the rewritten path back (a loop no deployment has). Unbound, Next's own origin is `localhost`.
 */
export async function nextStart(
  dir: string,
  env: Record<string, string>,
  options: { anyHost?: boolean } = {},
): Promise<NextServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [nextBin(dir), "start", "-p", String(port), ...(options.anyHost ? [] : ["-H", "127.0.0.1"])],
    {
      cwd: dir,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on("data", (chunk) => {
    output += String(chunk);
  });
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  const close = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`next start exited early:\n${output}`);
    try {
      await rawRequest(port, "GET", "/", {});
      break;
    } catch {
      if (Date.now() > deadline) {
        await close();
        throw new Error(`next start did not answer within 60 s:\n${output}`);
      }
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  return { port, url: `http://127.0.0.1:${port}`, output: () => output, close };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One HTTP/1.1 request written byte for byte; the path is sent exactly as given. */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<RawResponse> {
  return new Promise((res, rej) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.setTimeout(15_000, () => socket.destroy(new Error(`no answer to ${method} ${path}`)));
    socket.on("error", rej);
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("end", () => {
      try {
        res(parseResponse(Buffer.concat(chunks)));
      } catch (error) {
        rej(error);
      }
    });
    const lines = [`${method} ${path} HTTP/1.1`, `host: 127.0.0.1:${port}`, "connection: close"];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    if (body !== undefined) lines.push(`content-length: ${Buffer.byteLength(body)}`);
    socket.write(`${lines.join("\r\n")}\r\n\r\n${body ?? ""}`);
  });
}

function parseResponse(data: Buffer): RawResponse {
  const text = data.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) throw new Error(`not an HTTP response: ${JSON.stringify(text.slice(0, 80))}`);
  const [statusLine = "", ...headerLines] = text.slice(0, end).split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let body = data.subarray(Buffer.byteLength(text.slice(0, end + 4), "latin1"));
  if (headers["transfer-encoding"]?.includes("chunked")) body = dechunk(body);
  return { status, headers, body: body.toString("utf8") };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf("\r\n", offset);
    if (lineEnd === -1) break;
    const size = Number.parseInt(data.subarray(offset, lineEnd).toString("latin1"), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * Sends the request and follows same-server redirects (Next 308-redirects `//` and trailing-slash
 * spellings before middleware runs), as a browser would: what counts is the final answer.
 */
export async function follow(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<RawResponse & { hops: string[] }> {
  const hops: string[] = [];
  let current = path;
  for (let i = 0; i < 5; i++) {
    const response = await rawRequest(port, method, current, headers, body);
    const location = response.headers.location;
    if (response.status < 300 || response.status > 399 || !location) return { ...response, hops };
    const next = new URL(location, `http://127.0.0.1:${port}${current.startsWith("/") ? "" : "/"}`);
    if (next.port !== String(port)) return { ...response, hops };
    hops.push(current);
    current = `${next.pathname}${next.search}`;
  }
  throw new Error(`too many redirects from ${path}`);
}
