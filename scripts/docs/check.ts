/**
 * The docs check (docs/development.md, "Docs"): every relative link and `#anchor` in README.md and
 * docs/*.md resolves, every snippet equals the file it names (snippets.ts), and the README stays
 * within its limits. Each problem is one line,
 * `file:line: target (why)`, so an editor can jump to it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { isExternal, linksOf } from "./links.js";
import { readmeOverLimits } from "./readme-limits.js";
import { anchorsOf } from "./slug.js";
import { snippetProblems } from "./snippets.js";

export interface DocsProblem {
  /** Relative to the repository root. */
  file: string;
  line: number;
  target: string;
  why: string;
}

/** README.md and every Markdown page of docs/ (not its subfolders: those hold generated artefacts). */
export function docsFiles(root: string): string[] {
  const pages = readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => join("docs", name));
  return ["README.md", ...pages];
}

function decode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function problemOf(root: string, file: string, target: string, anchorsIn: (path: string) => Set<string>) {
  const hash = target.indexOf("#");
  const path = decode(hash === -1 ? target : target.slice(0, hash));
  const anchor = hash === -1 ? undefined : decode(target.slice(hash + 1));
  const resolved = path === "" ? join(root, file) : join(root, dirname(file), path);
  if (relative(root, resolved).startsWith("..")) return "points outside the repository";
  if (!existsSync(resolved)) return "no such file";
  if (anchor === undefined || anchor === "") return undefined;
  if (statSync(resolved).isDirectory() || !resolved.endsWith(".md")) return undefined;
  return anchorsIn(resolved).has(anchor) ? undefined : "no such heading";
}

export function checkDocs(root: string): DocsProblem[] {
  const anchors = new Map<string, Set<string>>();
  const anchorsIn = (path: string): Set<string> => {
    let found = anchors.get(path);
    if (found === undefined) {
      found = anchorsOf(readFileSync(path, "utf8"));
      anchors.set(path, found);
    }
    return found;
  };
  const problems: DocsProblem[] = [];
  for (const file of docsFiles(root)) {
    const text = readFileSync(join(root, file), "utf8");
    for (const link of linksOf(text)) {
      if (isExternal(link.target)) continue;
      const why = problemOf(root, file, link.target, anchorsIn);
      if (why !== undefined) problems.push({ file, line: link.line, target: link.target, why });
    }
    for (const snippet of snippetProblems(root, text)) problems.push({ file, ...snippet });
    if (file === "README.md")
      for (const over of readmeOverLimits(text))
        problems.push({ file, line: 1, target: "README.md", why: over });
  }
  return problems;
}

export function formatProblem(problem: DocsProblem): string {
  return `${problem.file}:${problem.line}: ${problem.target} (${problem.why})`;
}
