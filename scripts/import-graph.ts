/**
 * The file-to-file import graph of a source tree, and its cycles. Paths are POSIX and relative to
 * the repository (`src/cli/main.ts`). A relative specifier resolves the way this repository writes
 * them under NodeNext: `./x.js` is `x.ts`, and a folder (`./x`, `./x/`) is its `index.ts`; bare
 * package names and files outside the tree are not part of the graph.
 */
import { posix } from "node:path";
import { type ImportKind, moduleImports } from "./module-imports.js";

export interface ImportEdge {
  from: string;
  to: string;
  /** Every form in which `from` imports `to`: one edge even when a file both types and loads another. */
  kinds: ImportKind[];
  /** The first import's line in `from`. */
  line: number;
}

export interface ImportGraph {
  files: string[];
  edges: ImportEdge[];
}

function resolveIn(files: ReadonlySet<string>, from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const base = posix.join(posix.dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, ".ts"), base, `${base}.ts`, posix.join(base, "index.ts")];
  return candidates.find((candidate) => files.has(candidate));
}

/** `sources`: each file's path and text. */
export function importGraph(sources: ReadonlyMap<string, string>): ImportGraph {
  const files = new Set(sources.keys());
  const edges = new Map<string, ImportEdge>();
  for (const [from, text] of sources) {
    for (const { specifier, kind, line } of moduleImports(from, text)) {
      const to = resolveIn(files, from, specifier);
      if (to === undefined) continue;
      const key = `${from}\0${to}`;
      const edge = edges.get(key);
      if (edge === undefined) edges.set(key, { from, to, kinds: [kind], line });
      else if (!edge.kinds.includes(kind)) edge.kinds.push(kind);
    }
  }
  return { files: [...files].sort(), edges: [...edges.values()] };
}

function successors(graph: ImportGraph): Map<string, string[]> {
  const next = new Map<string, string[]>(graph.files.map((file) => [file, []]));
  for (const edge of graph.edges) next.get(edge.from)?.push(edge.to);
  return next;
}

/** The strongly connected groups of files that import each other (Tarjan's algorithm). */
function stronglyConnected(next: ReadonlyMap<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, counter);
    low.set(file, counter);
    counter++;
    stack.push(file);
    onStack.add(file);
    for (const to of next.get(file) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(file, Math.min(low.get(file) ?? 0, low.get(to) ?? 0));
      } else if (onStack.has(to)) low.set(file, Math.min(low.get(file) ?? 0, index.get(to) ?? 0));
    }
    if (low.get(file) !== index.get(file)) return;
    const group: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop();
      if (member === undefined) break;
      onStack.delete(member);
      group.push(member);
    } while (member !== file);
    groups.push(group);
  };
  for (const file of next.keys()) if (!index.has(file)) visit(file);
  return groups;
}

/** The shortest way from `start` back to itself inside `group`, as a path that ends where it began. */
function shortestLoop(
  start: string,
  group: ReadonlySet<string>,
  next: ReadonlyMap<string, string[]>,
): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const file = queue[i] as string;
    for (const to of next.get(file) ?? []) {
      if (!group.has(to)) continue;
      if (to === start) {
        const between: string[] = [];
        for (let at: string | undefined = file; at !== undefined && at !== start; at = cameFrom.get(at))
          between.unshift(at);
        return [start, ...between, start];
      }
      if (cameFrom.has(to)) continue;
      cameFrom.set(to, file);
      queue.push(to);
    }
  }
  return [start];
}

/**
 * Every import cycle, one per group of files that import each other, each shown as its shortest
 * loop from the group's first file (`[a, b, a]`). A file that imports itself is a cycle too.
 */
export function importCycles(graph: ImportGraph): string[][] {
  const next = successors(graph);
  return stronglyConnected(next)
    .filter((group) => group.length > 1 || (next.get(group[0] as string) ?? []).includes(group[0] as string))
    .map((group) => {
      const sorted = [...group].sort();
      return shortestLoop(sorted[0] as string, new Set(group), next);
    })
    .sort((a, b) => (a[0] as string).localeCompare(b[0] as string));
}
