/** Which links scripts/check-docs.ts reads from a Markdown file, and on which line. */
import { describe, expect, it } from "vitest";
import { isExternal, linksOf } from "../../scripts/docs/links.js";

describe("linksOf", () => {
  it("reads inline links, images, reference definitions and HTML, with their line numbers", () => {
    const markdown = [
      'See [rules](docs/rules.md#rate-limit) and ![the page](docs/dashboard.png "title").',
      "[ref]: docs/cli.md",
      '<img src="docs/drill/report.png"> and [a (paren) link](a_(b).md)',
    ].join("\n");
    expect(linksOf(markdown)).toEqual([
      { line: 1, target: "docs/rules.md#rate-limit" },
      { line: 1, target: "docs/dashboard.png" },
      { line: 2, target: "docs/cli.md" },
      { line: 3, target: "a_(b).md" },
      { line: 3, target: "docs/drill/report.png" },
    ]);
  });

  it("skips code blocks and code spans: a link shown as an example is not a link", () => {
    const markdown = ["```md", "[x](missing.md)", "```", "`[y](missing.md)` but [z](#here)"].join("\n");
    expect(linksOf(markdown)).toEqual([{ line: 4, target: "#here" }]);
  });

  it("tells links that leave the repository from relative ones", () => {
    expect(
      ["https://vercel.com", "mailto:a@b.c", "//cdn.example", "docs/x.md", "#a"].map(isExternal),
    ).toEqual([true, true, true, false, false]);
  });
});
