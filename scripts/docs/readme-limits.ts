/**
 * The README is the front door (docs/development.md, "Docs"): what the project is, the quick start,
 * the shortest path into a project, the incident in five commands, and links into docs/. These
 * limits keep it that size; everything else belongs on a page of its own.
 */
export const README_LIMITS = { lines: 250, words: 1800 } as const;

/** Lines as an editor numbers them (a final newline does not start another line). */
export function countLines(text: string): number {
  if (text === "") return 0;
  return text.replace(/\n$/, "").split("\n").length;
}

/** Words as `wc -w` counts them: runs of non-whitespace, code included. */
export function countWords(text: string): number {
  return text.split(/\s+/).filter((word) => word !== "").length;
}

/** What is over the limits, one line each; empty when the README fits. */
export function readmeOverLimits(text: string): string[] {
  const lines = countLines(text);
  const words = countWords(text);
  return [
    ...(lines > README_LIMITS.lines ? [`${lines} lines, at most ${README_LIMITS.lines}`] : []),
    ...(words > README_LIMITS.words ? [`${words} words, at most ${README_LIMITS.words}`] : []),
  ];
}
