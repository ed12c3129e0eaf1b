/** GitHub's heading anchors as scripts/check-docs.ts computes them (docs/development.md, "Docs"). */
import { describe, expect, it } from "vitest";
import { anchorsOf, githubSlug, headingText, slugger } from "../../scripts/docs/slug.js";

const slugOf = (raw: string) => githubSlug(headingText(raw));

describe("GitHub heading slugs", () => {
  it("lower-cases, drops punctuation and turns each space into a hyphen", () => {
    expect(slugOf("Freshness, outages and the fast lane")).toBe("freshness-outages-and-the-fast-lane");
    expect(slugOf("Security: bypass families and the attack corpus")).toBe(
      "security-bypass-families-and-the-attack-corpus",
    );
    expect(slugOf("What would this rule do?")).toBe("what-would-this-rule-do");
    expect(slugOf("On the responder's machine")).toBe("on-the-responders-machine");
  });

  it("keeps hyphens and underscores, and does not collapse what the removed characters leave", () => {
    expect(slugOf("A — B")).toBe("a--b");
    expect(slugOf("`--wait`: confirming every region")).toBe("--wait-confirming-every-region");
    expect(slugOf("snake_case and kebab-case")).toBe("snake_case-and-kebab-case");
  });

  it("slugs the rendered text: code spans, links, emphasis and HTML unwrapped", () => {
    expect(slugOf("3. `next.config.ts`: `withContainment`")).toBe("3-nextconfigts-withcontainment");
    expect(slugOf("`kill-switch`")).toBe("kill-switch");
    expect(slugOf("Example: a subdomain per tenant (`acme.example.com`, session cookie)")).toBe(
      "example-a-subdomain-per-tenant-acmeexamplecom-session-cookie",
    );
    expect(slugOf("See [the rules](rules.md) **now**")).toBe("see-the-rules-now");
    expect(slugOf("an _emphasised_ word <sup>1</sup>")).toBe("an-emphasised-word-1");
  });

  it("numbers a repeated heading as GitHub does", () => {
    const slug = slugger();
    expect(["Usage", "Usage", "Usage-1", "Usage"].map(slug)).toEqual([
      "usage",
      "usage-1",
      "usage-1-1",
      "usage-2",
    ]);
  });
});

describe("anchorsOf", () => {
  it("offers every heading outside code, numbered, and explicit HTML anchors", () => {
    const markdown = [
      "# Title",
      "## Options",
      "```sh",
      "# not a heading",
      "```",
      "## Options",
      '<a id="pinned"></a>',
      "### `--wait` options ###",
    ].join("\n");
    expect([...anchorsOf(markdown)]).toEqual(["title", "options", "options-1", "pinned", "--wait-options"]);
  });
});
