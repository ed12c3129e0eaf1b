/**
 * `containment dev` in a user's project: the real CLI started in a project
 * directory bundles the project's OWN middleware.ts (so its options run), serves the project's
 * containment.rules.json by default, and puts the Edge Config stand-in on --edge-config-port so
 * EDGE_CONFIG can be written once into .env.local for `next dev`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findProjectEntry } from "../../src/dev/project.js";
import { type EchoUpstream, startEchoUpstream } from "../support/echo-upstream.js";
import { freePort } from "../support/redis-server.js";

const ROOT = resolve(import.meta.dirname, "../..");

interface Cli {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function startCli(cwd: string, args: string[]): Cli {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "dev", ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let text = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return { child, output: () => text, exited };
}

async function banner(cli: Cli): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (!cli.output().includes("Ctrl-C")) {
    if (cli.child.exitCode !== null || Date.now() > deadline) throw new Error(`no banner:\n${cli.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return cli.output();
}

function fixture(name: string, files: Record<string, string>): string {
  // Inside the repository so the fixture resolves tsx, esbuild and the package's dependencies.
  const dir = join(ROOT, ".tmp", name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

const PROJECT_MIDDLEWARE = `import { createNextMiddleware } from "../../src/adapters/next.js";
// The project's own option: the package's bundled middleware does not know this basePath.
export default createNextMiddleware({ normalize: { basePath: "/base" }, refreshMs: 100 });
`;
const PROJECT_RULES = JSON.stringify({
  version: 1,
  rules: [{ id: "project-freeze", kind: "kill-switch", match: { path: "/api/patients/*/export" } }],
});

describe("containment dev in a project", () => {
  let upstream: EchoUpstream;
  let cli: Cli | undefined;
  let dir: string;
  let ecPort: number;
  let firewall: string;

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    dir = fixture("dev-project", {
      "package.json": JSON.stringify({ name: "fixture-app", private: true, type: "module" }),
      "middleware.ts": PROJECT_MIDDLEWARE,
      "containment.rules.json": PROJECT_RULES,
    });
    ecPort = await freePort();
    cli = startCli(dir, ["--port", "0", "--edge-config-port", String(ecPort), "--upstream", upstream.url]);
    const text = await banner(cli);
    firewall = /firewall\s+(http:\/\/\S+)/.exec(text)?.[1] ?? "";
  }, 90_000);

  afterAll(async () => {
    cli?.child.kill("SIGTERM");
    await cli?.exited;
    await upstream?.close();
  });

  it("runs the project's own middleware, with its options", async () => {
    expect(cli?.output()).toContain("your middleware.ts bundled for the edge");
    const blocked = await fetch(`${firewall}/base/api/patients/1/export`);
    expect(blocked.status).toBe(503);
    expect(((await blocked.json()) as { rule?: string }).rule).toBe("project-freeze");
    const passed = await fetch(`${firewall}/base/api/patients/1`);
    expect(((await passed.json()) as { upstream?: boolean }).upstream).toBe(true);
  });

  it("serves the project's containment.rules.json by default", () => {
    expect(cli?.output()).toMatch(/rules\s+containment\.rules\.json/);
  });

  it("puts the Edge Config stand-in on --edge-config-port and prints the EDGE_CONFIG line for .env.local", async () => {
    const line = `EDGE_CONFIG=http://127.0.0.1:${ecPort}/ecfg_local?token=`;
    expect(cli?.output()).toContain(`for next dev, put in .env.local: ${line}`);
    const connection = /put in \.env\.local: EDGE_CONFIG=(\S+)/.exec(cli?.output() ?? "")?.[1] ?? "";
    const url = new URL(connection);
    const item = await fetch(`${url.origin}${url.pathname}/item/containment?version=1`, {
      headers: { authorization: `Bearer ${url.searchParams.get("token")}` },
    });
    expect(item.status).toBe(200);
    expect(((await item.json()) as { rules: Array<{ id: string }> }).rules[0]?.id).toBe("project-freeze");
  });

  it("says which file to create when the project has no rules file, and exits non-zero", async () => {
    const bare = fixture("dev-project-bare", {
      "package.json": JSON.stringify({ name: "bare-app", private: true }),
      "middleware.ts": PROJECT_MIDDLEWARE,
    });
    const failed = startCli(bare, ["--port", "0"]);
    expect(await failed.exited).not.toBe(0);
    expect(failed.output()).toMatch(/no containment\.rules\.json in .*--rules <file>/);
  });

  it("refuses an --edge-config-port that is taken with one clear line", async () => {
    const taken = createServer();
    await new Promise<void>((res) => taken.listen(0, "127.0.0.1", () => res()));
    const port = (taken.address() as { port: number }).port;
    try {
      const failed = startCli(dir, ["--port", "0", "--edge-config-port", String(port)]);
      expect(await failed.exited).not.toBe(0);
      expect(failed.output()).toContain(`--edge-config-port ${port} is in use`);
    } finally {
      taken.close();
    }
  });
});

/**
 * A Next.js project: `next/server` resolves (here a stand-in NextRequest: the real one needs the
 * example app's install), so the upstream is taken to be `next dev`, which runs the same proxy.ts.
 * The proxy composes an i18n rewrite (as next-intl's does for the default locale) kept off /api.
 */
const NEXT_PROXY = (
  marker: string,
) => `import { compose, createNextProxy, except } from "../../src/adapters/next.js";
const toLocale = (request) =>
  new Response(null, { headers: { "x-middleware-rewrite": new URL("/en" + new URL(request.url).pathname, request.url).href, "x-build": "${marker}" } });
export const proxy = compose(createNextProxy({ refreshMs: 100 }), except("/api/**", toLocale));
`;
const NEXT_SERVER_STAND_IN = `export class NextRequest extends Request {
  constructor(input, init = {}) { super(input, init); this.nextUrl = new URL(this.url); }
}
`;

describe("containment dev in front of a Next.js project", () => {
  let upstream: EchoUpstream;
  let cli: Cli | undefined;
  let dir: string;
  let firewall: string;

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    dir = fixture("dev-project-next", {
      "package.json": JSON.stringify({ name: "fixture-next-app", private: true, type: "module" }),
      "proxy.ts": NEXT_PROXY("one"),
      "containment.rules.json": JSON.stringify({
        version: 1,
        rules: [{ id: "page-freeze", kind: "kill-switch", match: { path: "/dashboard/export" } }],
      }),
    });
    mkdirSync(join(dir, "node_modules/next"), { recursive: true });
    writeFileSync(
      join(dir, "node_modules/next/package.json"),
      JSON.stringify({ name: "next", type: "module" }),
    );
    writeFileSync(join(dir, "node_modules/next/server.js"), NEXT_SERVER_STAND_IN);
    cli = startCli(dir, ["--port", "0", "--upstream", upstream.url]);
    firewall = /firewall\s+(http:\/\/\S+)/.exec(await banner(cli))?.[1] ?? "";
  }, 90_000);

  afterAll(async () => {
    cli?.child.kill("SIGTERM");
    await cli?.exited;
    await upstream?.close();
  });

  it("says the upstream runs the middleware again, and leaves its rewrite to it: no second rewrite, no loop", async () => {
    expect(cli?.output()).toContain(
      "it runs your proxy.ts again: what the firewall passes goes through your middleware twice",
    );
    const page = await fetch(`${firewall}/about`);
    expect(((await page.json()) as { path?: string }).path).toBe("/about");
    expect(page.headers.get("x-build")).toBe("one");
    expect(page.headers.get("x-middleware-rewrite")).toBeNull();
    const api = await fetch(`${firewall}/api/patients`);
    expect(((await api.json()) as { path?: string }).path).toBe("/api/patients");
    for (const path of ["/dashboard/export", "/fr/dashboard/export", "/en/dashboard/export.rsc"])
      expect((await fetch(`${firewall}${path}`)).status, path).toBe(503);
  });

  it("rebuilds when the proxy is saved, and says so", async () => {
    writeFileSync(join(dir, "proxy.ts"), NEXT_PROXY("two"));
    const deadline = Date.now() + 30_000;
    let build = "";
    while (build !== "two" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      build = (await fetch(`${firewall}/about`)).headers.get("x-build") ?? "";
    }
    expect(build).toBe("two");
    expect(cli?.output()).toMatch(/proxy\.ts changed: rebuilt \([\d.]+ KB gzipped\), now serving it/);
  });
});

describe("finding the project's middleware", () => {
  it("picks middleware.ts or proxy.ts, and refuses both at once as Next does", () => {
    const one = fixture("find-one", { "package.json": "{}", "proxy.ts": "" });
    expect(findProjectEntry(one)).toBe(join(one, "proxy.ts"));
    const both = fixture("find-both", { "package.json": "{}", "proxy.ts": "", "middleware.ts": "" });
    expect(() => findProjectEntry(both)).toThrow(/both .* exist/);
    expect(findProjectEntry(fixture("find-none", { "package.json": "{}" }))).toBeUndefined();
  });

  it("runs the package's own bundle in this repository", () => {
    expect(findProjectEntry(ROOT)).toBeUndefined();
  });

  it("refuses an --entry that does not exist", () => {
    expect(() => findProjectEntry(ROOT, "nope.ts")).toThrow(/--entry nope\.ts: no such file/);
  });
});
