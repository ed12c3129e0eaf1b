/**
 * The links a Markdown file makes, with their line numbers: inline links and images
 * (`[text](target)`, `![alt](target)`), reference definitions (`[name]: target`) and HTML `href` /
 * `src`. Code blocks and code spans are not read: a link shown as an example is not a link.
 */
import { markdownLines } from "./markdown-lines.js";

export interface Link {
  line: number;
  /** As written, e.g. `rules.md#rate-limit` or `https://…`. */
  target: string;
}

const INLINE = /\]\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g;
const DEFINITION = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/;
const HTML = /<(?:a|img)\s[^>]*\b(?:href|src)="([^"]*)"/g;

function withoutCodeSpans(text: string): string {
  return text.replace(/(`+)(?:(?!\1).)+\1/g, "");
}

export function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  for (const line of markdownLines(markdown)) {
    if (line.fence !== undefined) continue;
    const text = withoutCodeSpans(line.text);
    const found = [
      ...[...text.matchAll(INLINE)].map((m) => m[1]),
      DEFINITION.exec(text)?.[1],
      ...[...text.matchAll(HTML)].map((m) => m[1]),
    ];
    for (const target of found)
      if (target !== undefined && target !== "")
        links.push({ line: line.number, target: target.replace(/^<|>$/g, "") });
  }
  return links;
}

/** A link that leaves the repository (`https:`, `mailto:`, `//host`): not checked offline. */
export function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//");
}
