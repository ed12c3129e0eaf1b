/**
 * Test-only variants of examples/next-app: a copy inside the example (so `node_modules` resolves by
 * walking up), with files replaced or added. The committed app stays what docs/getting-started.md shows.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { APP } from "../support/next-app.js";

export interface VariantChanges {
  /** Edits of copied files, by path relative to the app. */
  edit?: Record<string, (text: string) => string>;
  /** Files added (or replacing a copied one), by path relative to the app. */
  add?: Record<string, string>;
}

export function variantWith(name: string, changes: VariantChanges): string {
  const dir = join(APP, ".variants", name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const entry of ["app", "middleware.ts", "next.config.ts", "tsconfig.json", "containment.rules.json"])
    cpSync(join(APP, entry), join(dir, entry), { recursive: true });
  // The copy builds inside the example, whose node_modules Turbopack must see: root it there.
  const edits = { ...changes.edit };
  const configEdit = edits["next.config.ts"];
  edits["next.config.ts"] = (text) =>
    (configEdit ? configEdit(text) : text).replaceAll("import.meta.dirname", JSON.stringify(APP));
  for (const [file, edit] of Object.entries(edits)) {
    const path = join(dir, file);
    writeFileSync(path, edit(readFileSync(path, "utf8")));
  }
  for (const [file, text] of Object.entries(changes.add ?? {})) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  writeFileSync(join(dir, "package.json"), JSON.stringify({ private: true, type: "module" }));
  return dir;
}
