/**
 * Plain text as Markdown that renders as the same text, for generated pages. Help strings are
 * written for a terminal: `containment_kill_<id>` would lose `<id>` as an HTML tag and `/api/**`
 * would start emphasis. Code spans the text already has (`containment list`) are kept as code.
 */

function escapeProse(text: string): string {
  return text
    .replace(/[\\*[\]<>|]/g, (c) => `\\${c}`)
    .replace(/(^|[^\p{L}\p{N}])_|_(?=[^\p{L}\p{N}]|$)/gu, (m) => m.replace("_", "\\_"));
}

/** Escapes prose, leaves code spans as they are; `|` is escaped everywhere so the text fits in a table cell. */
export function markdownText(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? part.replaceAll("|", "\\|") : escapeProse(part)))
    .join("");
}

/** A code span holding `text` (a flag, a default), safe inside a table cell. */
export function code(text: string): string {
  const fence = text.includes("`") ? "``" : "`";
  const pad = text.startsWith("`") || text.endsWith("`") ? " " : "";
  return `${fence}${pad}${text.replaceAll("|", "\\|")}${pad}${fence}`;
}
