/**
 * One escaping function per output format, here and nowhere else. Text that came from a request
 * (paths the mirror keeps), from Redis or Edge Config (reasons, incident ids and titles, actor
 * names, rule ids) or from a responder's flags is data: every format it reaches escapes it for that
 * format's own syntax, so it shows as the characters it is and never becomes markup, a table column,
 * a link or image, or a terminal command.
 *
 * - HTML (the report, the dashboard page): `escapeHtml`.
 * - Markdown (the report): `escapeMarkdown`, or the `md` tag, which escapes every interpolated value.
 * - The terminal (every line the CLI prints): `escapeTerminal` (src/cli/terminal.ts applies it).
 * - Slack message text (webhooks in Slack format): `escapeSlack`.
 * - JSON needs none: it is only ever produced by `JSON.stringify`.
 *
 * Runtime-neutral (the mounted dashboard runs it at the edge).
 */

/**
 * Characters that act on a display rather than show: C0 controls (ESC starts ANSI/OSC sequences,
 * CR and BS overwrite what was printed), DEL, C1 controls (U+009B is a one-character CSI in some
 * terminals), the bidirectional overrides and isolates that reorder what a reader sees, and the
 * Unicode line and paragraph separators. Tab and newline are left to each format.
 */
const DISPLAY_CONTROLS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

/** `\u001b` for ESC: the same spelling JSON uses, so escaping JSON text this way keeps it valid and equal. */
function visible(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** HTML text and attribute values (quoted with `"` or `'`). */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/**
 * ASCII punctuation that forms inline markup wherever it stands: escapes and code spans, emphasis
 * and strikethrough, links and images, autolinks and inline HTML, entities, table cells, math.
 */
const MARKDOWN_INLINE = /[\\`*_~[\]<>&|!$]/g;
/** …and what starts a block at the start of a value (which may be the start of a line or list item). */
const MARKDOWN_BLOCK_START = /^(\s*)(?:([#+=-])|(\d{1,9})([.)]))/;

/**
 * Markdown (CommonMark and GitHub's) inline text: line breaks become spaces (a value never starts a
 * block of its own or ends a table row), display controls become visible `\uXXXX`, the punctuation
 * that forms inline markup is backslash-escaped everywhere (so no emphasis, code span, link, image,
 * autolink, inline HTML, entity or table `|` can form), and a leading heading, list, quote or rule
 * marker is escaped too. Safe in a paragraph, a list item, a heading and a table cell. Punctuation
 * that is never markup there (`.`, `:`, `/`, `-` inside text) stays, so paths and times read as they
 * are. A bare URL stays text, though renderers that linkify may still show it as a link to itself
 * (never an image, never under other text).
 */
export function escapeMarkdown(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: line breaks of every kind become spaces
      .replace(/\r\n|[\r\n\u2028\u2029\u000b\u000c\u0085]/g, " ")
      .replace(DISPLAY_CONTROLS, visible)
      .replace(MARKDOWN_INLINE, (char) => `\\${char}`)
      .replace(
        MARKDOWN_BLOCK_START,
        (
          _all,
          space: string,
          marker: string | undefined,
          digits: string | undefined,
          after: string | undefined,
        ) => (marker !== undefined ? `${space}\\${marker}` : `${space}${digits}\\${after}`),
      )
  );
}

/** Markdown built by `md`: already escaped, so it is inserted as is when interpolated again. */
export class Markdown {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/**
 * A Markdown template whose every interpolated value is escaped (`escapeMarkdown`), unless it is
 * itself `Markdown`; arrays are joined, each item so treated. The literal parts are the template's
 * own markup.
 *
 * @example md`- Reason: **${reason}**`.text
 */
export function md(strings: TemplateStringsArray, ...values: unknown[]): Markdown {
  let out = strings[0] ?? "";
  values.forEach((value, index) => {
    out += markdownValue(value) + (strings[index + 1] ?? "");
  });
  return new Markdown(out);
}

function markdownValue(value: unknown): string {
  if (value instanceof Markdown) return value.text;
  if (Array.isArray(value)) return value.map(markdownValue).join("");
  return escapeMarkdown(String(value ?? ""));
}

/**
 * Slack message text (`mrkdwn`): `&`, `<` and `>` as Slack's entities, as Slack asks of every app,
 * so no value can form a mention (`<!channel>`, `<@U…>`), a link under other text
 * (`<https://…|click>`) or a channel reference. Display controls become visible too.
 */
export function escapeSlack(text: string): string {
  return text
    .replace(DISPLAY_CONTROLS, visible)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");
}

/**
 * A line for the terminal: display controls (ESC sequences, CR, BS, C1, bidi overrides) become
 * visible `\uXXXX` text; tab and newline stay. Applied to everything the CLI writes, so nothing read
 * from Redis or Edge Config can move the cursor, recolour, retitle or hyperlink the responder's
 * terminal, or hide what was printed before it.
 */
export function escapeTerminal(text: string): string {
  return text.replace(DISPLAY_CONTROLS, visible);
}
