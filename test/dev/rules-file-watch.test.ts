import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@vercel/edge-config";
import { afterEach, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { watchRulesFile } from "../../src/dev/rules-file-watch.js";

process.env.EDGE_CONFIG_DISABLE_DEVELOPMENT_SWR = "1";

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup(initial: string): Promise<{ ec: EdgeConfigServer; file: string }> {
  const dir = mkdtempSync(join(tmpdir(), "containment-watch-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "rules.json");
  writeFileSync(file, initial);
  const ec = await startEdgeConfigServer({ sizeLimitBytes: 2048 });
  cleanup.push(() => ec.close());
  return { ec, file };
}

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("watchRulesFile", () => {
  it("loads the file into the item at once and serves it to the real client", async () => {
    const { ec, file } = await setup(JSON.stringify({ version: 1, mode: "monitor" }));
    const watcher = watchRulesFile(ec, file);
    cleanup.push(() => watcher.close());
    expect(ec.items()).toEqual({ containment: { version: 1, mode: "monitor" } });
    expect(await createClient(ec.connectionString).get("containment")).toEqual({
      version: 1,
      mode: "monitor",
    });
  });

  it("reloads when the file is rewritten in place or replaced by a rename", async () => {
    const { ec, file } = await setup(JSON.stringify({ v: 1 }));
    const reloads: unknown[] = [];
    const watcher = watchRulesFile(ec, file, "rules", { onReload: (value) => reloads.push(value) });
    cleanup.push(() => watcher.close());

    writeFileSync(file, JSON.stringify({ v: 2 }));
    await until(() => JSON.stringify(ec.items()) === JSON.stringify({ rules: { v: 2 } }));

    // How editors save: write a temp file, rename it over the original.
    writeFileSync(`${file}.tmp`, JSON.stringify({ v: 3 }));
    renameSync(`${file}.tmp`, file);
    await until(() => JSON.stringify(ec.items()) === JSON.stringify({ rules: { v: 3 } }));
    expect(reloads).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }]);
  });

  it("keeps serving the previous rules when the file becomes invalid JSON, and reports it", async () => {
    const { ec, file } = await setup(JSON.stringify({ v: 1 }));
    const errors: Error[] = [];
    const watcher = watchRulesFile(ec, file, "containment", { onError: (error) => errors.push(error) });
    cleanup.push(() => watcher.close());
    const digest = ec.digest();

    writeFileSync(file, "{ not json");
    await until(() => errors.length > 0);
    expect(errors[0]?.message).toMatch(/not valid JSON/);
    expect(ec.items()).toEqual({ containment: { v: 1 } });
    expect(ec.digest()).toBe(digest);

    writeFileSync(file, JSON.stringify({ v: 2 }));
    await until(() => JSON.stringify(ec.items()) === JSON.stringify({ containment: { v: 2 } }));
  });

  it("reports a file over the store's size limit and keeps the previous rules", async () => {
    const { ec, file } = await setup(JSON.stringify({ v: 1 }));
    const errors: Error[] = [];
    const watcher = watchRulesFile(ec, file, "containment", { onError: (error) => errors.push(error) });
    cleanup.push(() => watcher.close());
    writeFileSync(file, JSON.stringify({ pad: "x".repeat(4096) }));
    expect(watcher.reload()).toBe(false);
    expect(errors.at(-1)?.message).toMatch(/size limit/);
    expect(ec.items()).toEqual({ containment: { v: 1 } });
  });

  it("stops reloading once closed", async () => {
    const { ec, file } = await setup(JSON.stringify({ v: 1 }));
    const watcher = watchRulesFile(ec, file, "containment", { pollIntervalMs: 20 });
    // A witness watching the same file on the same interval: once it has seen the edit, the closed
    // watcher would have seen it too (a condition waited on, not a sleep that hopes).
    const witness = await setup(JSON.stringify({ v: 1 }));
    const open = watchRulesFile(witness.ec, file, "containment", { pollIntervalMs: 20 });
    try {
      watcher.close();
      writeFileSync(file, JSON.stringify({ v: 2 }));
      await until(() => JSON.stringify(witness.ec.items()) === JSON.stringify({ containment: { v: 2 } }));
      expect(ec.items()).toEqual({ containment: { v: 1 } });
    } finally {
      open.close();
    }
  });
});
