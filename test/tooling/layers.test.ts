/**
 * The import-direction check (scripts/layers.ts) and the import reader under it
 * (scripts/module-imports.ts), on small source trees written here.
 */
import { describe, expect, it } from "vitest";
import { checkLayers, formatLayers, type LayerRules, RANKS } from "../../scripts/layers.js";
import { moduleImports } from "../../scripts/module-imports.js";

const RULES: LayerRules = {
  ranks: RANKS,
  devImporters: { "src/cli/commands/dev.ts": "the dev command" },
  pendingDevImports: [],
};

const tree = (files: Record<string, string>) => new Map(Object.entries(files));

describe("reading a file's imports", () => {
  const kinds = (text: string) =>
    moduleImports("x.ts", text).map(({ specifier, kind }) => `${kind} ${specifier}`);

  it("reads static, type-only, side-effect and dynamic imports, each with its kind", () => {
    const text = [
      'import { a } from "./a.js";',
      'import type { B } from "./b.js";',
      'import "./c.js";',
      'const d = await import("./d.js");',
    ].join("\n");
    expect(kinds(text)).toEqual(["import ./a.js", "type ./b.js", "import ./c.js", "dynamic ./d.js"]);
  });

  it("reads re-exports, type re-exports and import types in type positions", () => {
    const text = [
      'export { a } from "./a.js";',
      'export * from "./b.js";',
      'export type { C } from "./c.js";',
      'let mod: typeof import("./d.js");',
      'type E = import("./e.js").E;',
    ].join("\n");
    expect(kinds(text)).toEqual([
      "re-export ./a.js",
      "re-export ./b.js",
      "type ./c.js",
      "type ./d.js",
      "type ./e.js",
    ]);
  });

  it("reads require and require.resolve, which load a package at run time", () => {
    expect(kinds('const x = require("x");\nconst p = require.resolve("uplot/dist/uPlot.min.css");')).toEqual([
      "require x",
      "require uplot/dist/uPlot.min.css",
    ]);
  });

  it("ignores imports written in comments, JSDoc examples and strings, and computed dynamic imports", () => {
    const text = [
      '/** @example import { x } from "edge-containment/next"; */',
      '// import { y } from "./y.js";',
      "const s = \"import { z } from './z.js'\";",
      "const m = await import(name);",
    ].join("\n");
    expect(kinds(text)).toEqual([]);
  });

  it("gives each import's line", () => {
    expect(moduleImports("x.ts", '\n\nimport "./a.js";').map((found) => found.line)).toEqual([3]);
  });
});

describe("the import-direction check", () => {
  it("passes a tree that imports downward, and says so in one line", () => {
    const report = checkLayers(
      tree({
        "src/engine/firewall.ts":
          'import { a } from "../core/a.js";\nimport type { D } from "../model/d.js";',
        "src/core/a.ts": 'import type { D } from "../model/d.js";\nexport const a = 1;',
        "src/model/d.ts": "export type D = 1;",
      }),
      RULES,
    );
    expect(formatLayers(report)).toEqual({
      ok: true,
      lines: ["layers: 3 files, 3 imports: 0 cycles, 0 upward, 0 into src/dev/ from the production path"],
    });
  });

  it("resolves a folder import to its index.ts and a .js specifier to its .ts file", () => {
    const report = checkLayers(
      tree({
        "src/core/a.ts": 'import { b } from "../engine";\nimport { c } from "../rules/c.js";',
        "src/engine/index.ts": "export const b = 1;",
        "src/rules/c.ts": "export const c = 1;",
      }),
      RULES,
    );
    expect(report.upward.map((edge) => `${edge.from} -> ${edge.to}`)).toEqual([
      "src/core/a.ts -> src/engine/index.ts",
      "src/core/a.ts -> src/rules/c.ts",
    ]);
  });

  it("fails an upward import, type-only, dynamic or re-exported alike, from any subfolder", () => {
    const report = checkLayers(
      tree({
        "src/core/a.ts": 'import type { E } from "../engine/e.js";',
        "src/core/b.ts": 'export { E } from "../engine/e.js";',
        "src/rules/deep/c.ts": 'const ops = await import("../../ops/o.js");',
        "src/engine/e.ts": "export type E = 1;",
        "src/ops/o.ts": "export const o = 1;",
      }),
      RULES,
    );
    const { ok, lines } = formatLayers(report);
    expect(ok).toBe(false);
    expect(lines).toEqual([
      "  upward: src/core/a.ts:1 -> src/engine/e.ts (type): core (1) may not import engine (4)",
      "  upward: src/core/b.ts:1 -> src/engine/e.ts (re-export): core (1) may not import engine (4)",
      "  upward: src/rules/deep/c.ts:1 -> src/ops/o.ts (dynamic): rules (2) may not import ops (6)",
      "layers: 5 files, 3 imports: 0 cycles, 3 upward, 0 into src/dev/ from the production path: FAILED",
    ]);
  });

  it("allows imports within a rank (sources and stores) and into the package entries from nowhere", () => {
    const report = checkLayers(
      tree({
        "src/sources/s.ts": 'import { t } from "../stores/t.js";',
        "src/stores/t.ts": "export const t = 1;",
        "src/cli/main.ts": 'import { x } from "../index.js";',
        "src/index.ts": 'export { t } from "./stores/t.js";',
      }),
      RULES,
    );
    expect(report.upward.map((edge) => edge.to)).toEqual(["src/index.ts"]);
  });

  it("fails a cycle, shown as its shortest loop, type-only links included", () => {
    const report = checkLayers(
      tree({
        "src/core/a.ts": 'import { b } from "./b.js";',
        "src/core/b.ts": 'import type { C } from "./c.js";',
        "src/core/c.ts": 'import { a } from "./a.js";\nimport { b } from "./b.js";',
      }),
      RULES,
    );
    expect(report.cycles).toEqual([["src/core/a.ts", "src/core/b.ts", "src/core/c.ts", "src/core/a.ts"]]);
    expect(formatLayers(report).lines[0]).toBe(
      "  cycle: src/core/a.ts -> src/core/b.ts -> src/core/c.ts -> src/core/a.ts",
    );
  });

  it("fails an import of src/dev/ from the production path, but not from the dev command or src/dev/ itself", () => {
    const report = checkLayers(
      tree({
        "src/cli/commands/dev.ts": 'import { s } from "../../dev/server.js";',
        "src/cli/commands/report.ts": 'import type { S } from "../../dev/server.js";',
        "src/dev/server.ts": 'import { h } from "./http.js";\nexport const s = 1;',
        "src/dev/http.ts": "export const h = 1;",
      }),
      RULES,
    );
    expect(formatLayers(report).lines).toEqual([
      "  dev import: src/cli/commands/report.ts:1 -> src/dev/server.ts (type): only DEV_IMPORTERS and src/dev/ itself may import src/dev/",
      "layers: 4 files, 3 imports: 0 cycles, 0 upward, 1 into src/dev/ from the production path: FAILED",
    ]);
  });

  it("reports a pending dev import without failing, and fails once the pending entry is stale", () => {
    const pending = { ...RULES, pendingDevImports: [{ from: "src/cli/ops.ts", to: "src/dev/bridge.ts" }] };
    const importing = tree({
      "src/cli/ops.ts": 'let m: typeof import("../dev/bridge.js");\nm = await import("../dev/bridge.js");',
      "src/dev/bridge.ts": "export const b = 1;",
    });
    expect(formatLayers(checkLayers(importing, pending))).toEqual({
      ok: true,
      lines: [
        "  pending: src/cli/ops.ts:1 -> src/dev/bridge.ts (type, dynamic): in PENDING_DEV_IMPORTS, which must be empty",
        "layers: 2 files, 1 imports: 0 cycles, 0 upward, 0 into src/dev/ from the production path (+1 pending)",
      ],
    });
    const removed = tree({ "src/cli/ops.ts": "export {};", "src/dev/bridge.ts": "export const b = 1;" });
    expect(formatLayers(checkLayers(removed, pending))).toEqual({
      ok: false,
      lines: [
        "  stale: PENDING_DEV_IMPORTS lists src/cli/ops.ts -> src/dev/bridge.ts, no longer imported: remove it",
        "layers: 2 files, 0 imports: 0 cycles, 0 upward, 0 into src/dev/ from the production path: FAILED",
      ],
    });
  });

  it("fails a folder that has no rank", () => {
    const { ok, lines } = formatLayers(checkLayers(tree({ "src/platform/p.ts": "export {};" }), RULES));
    expect(ok).toBe(false);
    expect(lines[0]).toBe("  unranked: src/platform/ has no rank in RANKS (scripts/layers.ts): add one");
  });
});
