/**
 * The lines of a Markdown file, each marked as prose or as part of a fenced code block. Headings,
 * links and shell commands are read from the right kind of line only: a `# comment` inside a
 * ```sh block is no heading, and a `[x](y)` inside one is no link.
 */

export interface MarkdownLine {
  /** 1-based, as editors and `file:line` messages count. */
  number: number;
  text: string;
  /** The info string of the fence this line is inside (`sh`, `ts`, ""), or undefined for prose. Fence delimiters count as inside. */
  fence: string | undefined;
  /** Whether this line opens or closes its fence. */
  delimiter?: "open" | "close";
}

export interface FencedBlock {
  /** The fence's info string, e.g. `sh` or `jsonc`. */
  info: string;
  /** The lines between the delimiters. */
  lines: MarkdownLine[];
  /** The text of the nearest heading above the block ("" before the first one). */
  heading: string;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;

export function markdownLines(text: string): MarkdownLine[] {
  const out: MarkdownLine[] = [];
  let open: { marker: string; info: string } | undefined;
  text.split("\n").forEach((line, index) => {
    const fence = FENCE.exec(line);
    if (open === undefined && fence?.[1] !== undefined) {
      open = { marker: fence[1], info: fence[2] ?? "" };
      out.push({ number: index + 1, text: line, fence: open.info, delimiter: "open" });
      return;
    }
    if (open !== undefined) {
      // A fence closes with the same character, at least as long, and nothing after it.
      const close = line.trim();
      const closes = close.startsWith(open.marker) && /^(`+|~+)$/.test(close);
      out.push({
        number: index + 1,
        text: line,
        fence: open.info,
        ...(closes ? { delimiter: "close" } : {}),
      });
      if (closes) open = undefined;
      return;
    }
    out.push({ number: index + 1, text: line, fence: undefined });
  });
  return out;
}

/** An ATX heading (`## Title`) outside code: its level and raw text, or undefined. */
export function headingOf(line: MarkdownLine): { level: number; raw: string } | undefined {
  if (line.fence !== undefined) return undefined;
  const match = HEADING.exec(line.text);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  return { level: match[1].length, raw: match[2] };
}

/** Every fenced code block, with the heading it stands under. */
export function fencedBlocks(text: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  let heading = "";
  let current: FencedBlock | undefined;
  for (const line of markdownLines(text)) {
    if (line.fence === undefined) heading = headingOf(line)?.raw ?? heading;
    else if (line.delimiter === "open") {
      current = { info: line.fence, lines: [], heading };
      blocks.push(current);
    } else if (line.delimiter === undefined) current?.lines.push(line);
  }
  return blocks;
}
