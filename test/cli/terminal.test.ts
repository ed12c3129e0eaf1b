/**
 * The CLI on a real terminal (tmux): the confirmation prompt and `status --watch` refreshing in
 * place. tmux runs the command in a pty; the test types into it and reads the screen.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { until } from "../integration/redis-fixture.js";
import { requireProgram } from "../support/programs.js";

const SOCKET = `containment-test-${process.pid}`;
const MAIN = join(import.meta.dirname, "..", "..", "src", "cli", "main.ts");
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
let ec: EdgeConfigServer;
let sessions = 0;
// The journal (no Redis here) lands in this directory, not the repository.
const cwd = mkdtempSync(join(tmpdir(), "containment-tty-"));

// tmux on PATH; a missing one fails the file here, naming what to install (test/support/programs.ts).
const TMUX = requireProgram("tmux");
const tmux = (...args: string[]): string => execFileSync(TMUX, ["-L", SOCKET, ...args], { encoding: "utf8" });
const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

function start(args: string[]): string {
  const name = `s${++sessions}`;
  const env = { EDGE_CONFIG_ID: ec.id, VERCEL_TOKEN: ec.apiToken, VERCEL_API_URL: ec.apiUrl };
  const command = [
    "env",
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    process.execPath,
    "--import",
    TSX,
    MAIN,
    ...args,
  ]
    .map(quote)
    .join(" ");
  // `; sleep` keeps the pane readable after the command ends, with its exit code on screen.
  tmux(
    "new-session",
    "-d",
    "-s",
    name,
    "-c",
    cwd,
    "-x",
    "160",
    "-y",
    "50",
    `${command}; echo "[exit $?]"; sleep 60`,
  );
  return name;
}
const screen = (name: string): string => tmux("capture-pane", "-p", "-t", name);
const showing = (name: string, pattern: RegExp) =>
  until(() => pattern.test(screen(name)), 30_000, `${pattern} on screen:\n${screen(name)}`);

beforeAll(async () => {
  ec = await startEdgeConfigServer({ items: { containment: { version: 1, rules: [] } } });
});
afterAll(async () => {
  try {
    tmux("kill-server");
  } catch {
    // no session left
  }
  await ec?.close();
});

describe("the CLI on a terminal", { timeout: 120_000 }, () => {
  it("asks before a kill, writes it on y, and changes nothing on n", async () => {
    const yes = start(["kill", "/api/reports/**", "--reason", "tty test", "--incident", "INC-T"]);
    await showing(yes, /create kill switch api-reports\? \[y\/N\]/);
    expect(ec.items()["containment_kill_api-reports"]).toBeUndefined();
    tmux("send-keys", "-t", yes, "y", "Enter");
    await showing(yes, /\[exit 9\]|\[exit 0\]/);
    expect(ec.items()["containment_kill_api-reports"]).toMatchObject({ version: 1, reason: "tty test" });

    const no = start(["kill", "/api/invoices/**", "--reason", "tty test", "--incident", "INC-T"]);
    await showing(no, /\[y\/N\]/);
    tmux("send-keys", "-t", no, "n", "Enter");
    await showing(no, /\[exit 6\]/);
    expect(screen(no)).toMatch(/not confirmed: nothing was changed/);
    expect(ec.items()["containment_kill_api-invoices"]).toBeUndefined();
  });

  it("asks for the exact phrase before a switch that blocks every route", async () => {
    const all = start(["kill", "/**", "--reason", "everything", "--incident", "INC-T", "--id", "everything"]);
    await showing(all, /Type "block every route" to confirm/);
    tmux("send-keys", "-t", all, "y", "Enter");
    await showing(all, /\[exit 6\]/);
    expect(ec.items().containment_kill_everything).toBeUndefined();
  });

  it("refreshes status --watch in place as switches change, and stops on Ctrl-C", async () => {
    const watch = start(["status", "--watch", "--every", "1"]);
    await showing(watch, /active\s+api-reports@1/);
    ec.setItem("containment_kill_late", {
      id: "late",
      match: { path: "/late/**" },
      version: 3,
      by: "someone",
      expiresAt: new Date(Date.now() + 5 * 60_000).toISOString(),
    });
    await showing(watch, /expiring late@3/);
    // In place: one screen, not a scroll of snapshots.
    expect(screen(watch).match(/edge-containment status at/g)).toHaveLength(1);
    tmux("send-keys", "-t", watch, "C-c");
    await showing(watch, /\[exit 0\]/);
  });
});
