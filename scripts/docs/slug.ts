/**
 * GitHub's heading anchors, computed offline so `scripts/check-docs.ts` can tell whether a link's
 * `#anchor` lands (docs/development.md, "Docs"). GitHub slugs the heading's rendered text the way
 * github-slugger does: lower case, every character that is not a letter, mark, digit, connector
 * (`_`), space or hyphen removed, each space turned into `-` (no collapsing: `a — b` → `a--b`), and
 * a repeated slug numbered `-1`, `-2`, … in document order.
 */
import { headingOf, markdownLines } from "./markdown-lines.js";

const REMOVED = /[^\p{L}\p{M}\p{Nd}\p{Nl}\p{Pc} -]/gu;

/** The text GitHub renders for a heading's Markdown: code spans, links, images, HTML and emphasis unwrapped. */
export function headingText(raw: string): string {
  return raw
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\[([^\]]*)\]\[[^\]]*\]/g, "$1")
    .replace(/<[^>]+>/g, "")
    .replace(/`+([^`]*?)`+/g, "$1")
    .replace(/(\*\*|__)(.+?)\1/g, "$2")
    .replace(/(^|[^\p{L}\p{N}])[*_](\S(?:.*?\S)?)[*_](?=[^\p{L}\p{N}]|$)/gu, "$1$2")
    .trim();
}

/** The slug of one heading's rendered text, before numbering repeats. */
export function githubSlug(text: string): string {
  return text.toLowerCase().replace(REMOVED, "").replace(/ /g, "-");
}

/** Numbers repeated slugs as GitHub does: the second `usage` is `usage-1`. */
export function slugger(): (text: string) => string {
  const seen = new Map<string, number>();
  return (text) => {
    const base = githubSlug(text);
    let slug = base;
    while (seen.has(slug)) {
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      slug = `${base}-${n}`;
    }
    seen.set(slug, 0);
    return slug;
  };
}

/** Every anchor a Markdown file offers: its headings' slugs and explicit `<a id="…">` / `name="…"`. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const slug = slugger();
  for (const line of markdownLines(markdown)) {
    const heading = headingOf(line);
    if (heading !== undefined) anchors.add(slug(headingText(heading.raw)));
    if (line.fence !== undefined) continue;
    for (const match of line.text.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g))
      if (match[1] !== undefined) anchors.add(match[1]);
  }
  return anchors;
}
