/**
 * Code blocks that are a file of the repository, verbatim: a fenced block right after the line
 * `<!-- snippet: examples/next-intl-app/proxy.ts -->` must equal that file, so a composition the
 * docs show is the one a test builds and serves (docs/development.md, "Docs").
 */
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

export interface SnippetProblem {
  line: number;
  /** The file the marker names, as written. */
  target: string;
  why: string;
}

const MARKER = /^<!--\s*snippet:\s*(\S+)\s*-->\s*$/;
const FENCE = /^(`{3,}|~{3,})/;

/** Every snippet marker of `markdown`, checked against the files under `root`. */
export function snippetProblems(root: string, markdown: string): SnippetProblem[] {
  const lines = markdown.split("\n");
  const problems: SnippetProblem[] = [];
  for (let index = 0; index < lines.length; index++) {
    const target = MARKER.exec(lines[index] as string)?.[1];
    if (target === undefined) continue;
    const line = index + 1;
    const path = join(root, target);
    if (relative(root, path).startsWith("..")) {
      problems.push({ line, target, why: "points outside the repository" });
      continue;
    }
    if (!existsSync(path)) {
      problems.push({ line, target, why: "no such file" });
      continue;
    }
    const fence = FENCE.exec(lines[index + 1] ?? "")?.[1];
    if (fence === undefined) {
      problems.push({ line, target, why: "no code block right after the snippet marker" });
      continue;
    }
    const end = lines.findIndex((text, at) => at > index + 1 && text.startsWith(fence));
    if (end === -1) {
      problems.push({ line, target, why: "the code block after the snippet marker never ends" });
      continue;
    }
    const block = lines.slice(index + 2, end).join("\n");
    const file = readFileSync(path, "utf8").replace(/\n$/, "");
    if (block !== file) {
      const blockLines = block.split("\n");
      const fileLines = file.split("\n");
      const differs = blockLines.findIndex((text, at) => text !== fileLines[at]);
      const at = differs === -1 ? blockLines.length : differs;
      problems.push({
        line: index + 3 + at,
        target,
        why: `differs from the file at its line ${at + 1}: copy the file into the block`,
      });
    }
  }
  return problems;
}
