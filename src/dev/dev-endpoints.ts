/**
 * `.containment/dev.json`: where a running `containment dev` can be reached, so every responder
 * command works against it with `--local` (the whole incident drill on one machine). Written when
 * the dev server is up, removed when it closes. It holds only the dev server's own throwaway
 * tokens, and is written 0600 all the same.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DEV_FILE, type DevEndpoints } from "../ops/config-files.js";

export function writeDevEndpoints(cwd: string, endpoints: DevEndpoints): { file: string; remove(): void } {
  const file = join(cwd, DEV_FILE);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify({ ...endpoints, pid: process.pid, startedAt: new Date().toISOString() }, null, 2)}\n`,
    { mode: 0o600 },
  );
  return { file, remove: () => rmSync(file, { force: true }) };
}
