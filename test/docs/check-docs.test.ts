/**
 * scripts/check-docs.ts: every relative link and anchor of README.md and docs/*.md resolves, and
 * the README stays the front door (docs/development.md, "Docs").
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkDocs, formatProblem } from "../../scripts/docs/check.js";
import { README_LIMITS } from "../../scripts/docs/readme-limits.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function repo(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "docs-check-"));
  mkdirSync(join(root, "docs"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, name), text);
  return root;
}

describe("the docs check", () => {
  it("passes on this repository", () => {
    expect(checkDocs(ROOT).map(formatProblem)).toEqual([]);
  });

  it("names each broken file, anchor and limit as file:line: target", () => {
    const root = repo({
      "README.md": "# Front\n\n[ok](docs/a.md#two) [gone](docs/missing.md)\n[bad anchor](docs/a.md#three)\n",
      "docs/a.md": "# A\n\n## Two\n\n[back](../README.md#front) [self](#nowhere) [escape](../../x.md)\n",
    });
    expect(checkDocs(root).map(formatProblem)).toEqual([
      "README.md:3: docs/missing.md (no such file)",
      "README.md:4: docs/a.md#three (no such heading)",
      "docs/a.md:5: #nowhere (no such heading)",
      "docs/a.md:5: ../../x.md (points outside the repository)",
    ]);
  });

  it("decodes percent-encoded paths and leaves anchors into non-Markdown files alone", () => {
    const root = repo({
      "README.md": "[route](docs/%5Bid%5D.ts) [line](docs/%5Bid%5D.ts#L3)\n",
      "docs/[id].ts": "export {};\n",
    });
    expect(checkDocs(root)).toEqual([]);
  });

  it("holds each snippet to the file it names, line by line", () => {
    const file = "// proxy.ts\nexport const a = 1;\nexport const b = 2;\n";
    const snippet = (body: string) => `<!-- snippet: docs/proxy.ts -->\n\`\`\`ts\n${body}\`\`\`\n`;
    const same = repo({ "README.md": snippet(file), "docs/proxy.ts": file });
    expect(checkDocs(same)).toEqual([]);
    const root = repo({
      "README.md": `${snippet("// proxy.ts\nexport const a = 1;\nexport const b = 3;\n")}\n${snippet(file.slice(0, 12))}`,
      "docs/a.md": "<!-- snippet: docs/gone.ts -->\n```ts\n```\n\n<!-- snippet: docs/proxy.ts -->\ntext\n",
      "docs/proxy.ts": file,
    });
    expect(checkDocs(root).map(formatProblem)).toEqual([
      "README.md:5: docs/proxy.ts (differs from the file at its line 3: copy the file into the block)",
      "README.md:11: docs/proxy.ts (differs from the file at its line 2: copy the file into the block)",
      "docs/a.md:1: docs/gone.ts (no such file)",
      "docs/a.md:5: docs/proxy.ts (no code block right after the snippet marker)",
    ]);
  });

  it("holds the README to its limits", () => {
    const long = `${"word ".repeat(README_LIMITS.words + 1)}\n${"\n".repeat(README_LIMITS.lines)}`;
    const root = repo({ "README.md": long });
    expect(checkDocs(root).map(formatProblem)).toEqual([
      `README.md:1: README.md (${README_LIMITS.lines + 1} lines, at most ${README_LIMITS.lines})`,
      `README.md:1: README.md (${README_LIMITS.words + 1} words, at most ${README_LIMITS.words})`,
    ]);
  });
});
