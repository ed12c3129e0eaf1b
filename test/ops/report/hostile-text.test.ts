/**
 * Hostile text through every output format. Request-derived text (paths the mirror keeps, tenants)
 * and responder or store text (reasons, incident ids and titles, actor names) is data: each format
 * escapes it for its own syntax (src/core/escape.ts). No Markdown renderer is a dependency, so the
 * Markdown checks assert on the escaped text: its markup skeleton (every unescaped character that
 * can form markup, per line) is the same as the benign report's, whatever the data holds.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { renderReport } from "../../../src/cli/commands/report.js";
import { escapeHtml, escapeMarkdown, escapeTerminal, md } from "../../../src/core/escape.js";
import { postWebhooks } from "../../../src/ops/notify.js";
import { buildReport } from "../../../src/ops/report/build.js";
import { renderHtml } from "../../../src/ops/report/html.js";
import { renderMarkdown } from "../../../src/ops/report/markdown.js";
import type { Report } from "../../../src/ops/report/model.js";
import { sampleInputs } from "./sample-inputs.js";

/** What an attacker (a request path, a Redis writer, a careless responder) might put in a string. */
const HOSTILE: ReadonlyArray<readonly [string, string]> = [
  ["an HTML tag", "<img src=x onerror=alert(1)>"],
  ["a script", "</script><script>alert(1)</script>"],
  ["an HTML comment", "<!-- hidden -->"],
  ["a Markdown image", "![x](https://evil.example/pixel.png)"],
  ["a Markdown link", "[click here](javascript:alert(1))"],
  ["a reference link", "[x][1]\n\n[1]: https://evil.example"],
  ["an autolink", "<https://evil.example>"],
  ["table pipes", "a | b | c"],
  ["a backtick", "`code` ``span``"],
  ["emphasis", "**bold** _it_ ~~gone~~"],
  ["a newline and a heading", "line\n# Heading"],
  ["CRLF and a list", "x\r\n- item\r\n1. first"],
  ["a leading heading marker", "# not a heading"],
  ["a leading list marker", "- not a list"],
  ["a leading ordered marker", "12) not a list"],
  ["a leading quote", "> not a quote"],
  ["a thematic break", "---"],
  ["an entity", "&lt;b&gt; &#60;i&#62;"],
  ["a backslash", "C:\\path\\to|x"],
  ["math", "$x^2$"],
  ["an ANSI colour", "\u001b[31mred\u001b[0m"],
  ["an OSC hyperlink", "\u001b]8;;https://evil.example\u0007link\u001b]8;;\u0007"],
  ["a screen clear", "\u001b[H\u001b[2J"],
  ["a C1 CSI", "\u009b2J"],
  ["carriage return and backspace", "ok\rFAKE\b\b"],
  ["a bidi override", "txt.\u202egnp"],
  ["Unicode line separators", "a\u2028b\u2029c"],
];

const MARKUP = /[|[\]<>`*_!&~$]/g;

/** Every character that can form Markdown markup and is not backslash-escaped, per line, plus the line's start. */
function markdownSkeleton(text: string): string[] {
  return text.split("\n").map((line) => {
    // A block marker counts only unescaped, at the start of the line as written.
    const start = /^\s*([#>+=-]|\d+[.)]|\*|_)?/.exec(line)?.[1] ?? "";
    const unescaped = line.replace(/\\[\s\S]/g, "");
    return `${start} ${(unescaped.match(MARKUP) ?? []).join("")}`;
  });
}

/** The sequence of tags and attribute names of an HTML document (quoted values skipped). */
function htmlSkeleton(text: string): string[] {
  return [...text.matchAll(/<(\/?[a-zA-Z][\w-]*)([^>]*)>/g)].map(([, tag, attrs]) => {
    const names = (attrs ?? "").replace(/"[^"]*"|'[^']*'/g, "").matchAll(/\s([\w-]+)=/g);
    return `${tag}${[...names].map(([, name]) => ` ${name}`).join("")}`;
  });
}

/** What a reader should see of a value: line breaks as spaces, controls as visible escapes. */
const shown = (text: string) => escapeTerminal(text.replace(/\r\n|[\r\n\u2028\u2029]/g, " "));

/** Reverses the backslash escapes: what a Markdown renderer shows as text. */
const shownByMarkdown = (escaped: string) => escaped.replace(/\\([!-/:-@[-`{-~])/g, "$1");

/** Every string in the report, with `suffix` appended: every field a hostile value. */
function withEveryString(report: Report, suffix: string): Report {
  const walk = (value: unknown): unknown => {
    if (typeof value === "string") return `${value}${suffix}`;
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === "object")
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    return value;
  };
  return walk(report) as Report;
}

const require = createRequire(import.meta.url);
const assets = {
  script: readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8"),
  css: readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8"),
};
const benign = buildReport(sampleInputs());
const DISPLAY_CONTROL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: what must never be left raw
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

describe.each(HOSTILE)("%s", (_name, hostile) => {
  it("stays text in Markdown: no markup, no line break, shown as its characters", () => {
    const escaped = escapeMarkdown(hostile);
    expect(escaped).not.toMatch(/[\r\n]/);
    expect(escaped).not.toMatch(DISPLAY_CONTROL);
    expect(markdownSkeleton(`- ${escaped}`)).toEqual(markdownSkeleton("- plain"));
    expect(markdownSkeleton(`| ${escaped} | x |`)).toEqual(markdownSkeleton("| a | x |"));
    expect(markdownSkeleton(escaped)).toEqual(markdownSkeleton("plain"));
    expect(shownByMarkdown(escaped)).toBe(shown(hostile));
    expect(md`**${hostile}**`.text).toBe(`**${escaped}**`);
  });

  it("stays text in the Markdown, HTML and JSON reports, in every field", () => {
    const report = withEveryString(benign, ` ${hostile}`);
    const markdown = renderMarkdown(report);
    expect(markdownSkeleton(markdown)).toEqual(markdownSkeleton(renderMarkdown(benign)));
    expect(markdown).not.toMatch(DISPLAY_CONTROL);
    expect(shownByMarkdown(markdown)).toContain(shown(hostile));

    const html = renderHtml(report, assets);
    expect(htmlSkeleton(html)).toEqual(htmlSkeleton(renderHtml(benign, assets)));
    expect(html).toContain(escapeHtml(`${report.incident.title}`));

    // JSON is only ever JSON.stringify: the values come back exactly.
    const json = JSON.parse(renderReport(report, "json")) as Report;
    expect(json.incident.title).toBe(report.incident.title);
    expect(json).toEqual(JSON.parse(JSON.stringify(report)));
  });

  it("is shown, not obeyed, by a terminal", () => {
    const line = escapeTerminal(`switch ${hostile} reason`);
    expect(line).not.toMatch(DISPLAY_CONTROL);
    // JSON text stays valid JSON with the same value through the terminal guard.
    const json = JSON.stringify({ reason: hostile });
    expect(JSON.parse(escapeTerminal(json))).toEqual({ reason: hostile });
  });

  it("forms no mention, link or channel in a Slack webhook's text", async () => {
    const bodies: string[] = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        bodies.push(body);
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const summary = `kill x (${hostile}) <!channel> <https://evil.example|click>`;
      const [result] = await postWebhooks([{ url, format: "slack" }], {
        kind: "change",
        action: "kill",
        summary,
        at: "now",
      });
      expect(result?.ok).toBe(true);
      const text = (JSON.parse(bodies[0] ?? "{}") as { text: string }).text;
      expect(text).not.toMatch(/[<>]/);
      expect(text.replace(/&(amp|lt|gt);/g, "")).not.toContain("&");
      expect(text).not.toMatch(DISPLAY_CONTROL);
    } finally {
      server.close();
    }
  });

  it("cannot form a tag or leave an attribute value in HTML", () => {
    const escaped = escapeHtml(hostile);
    expect(escaped).not.toMatch(/[<>"']/);
    expect(htmlSkeleton(`<p title="${escaped}">${escaped}</p>`)).toEqual(["p title", "/p"]);
  });
});
