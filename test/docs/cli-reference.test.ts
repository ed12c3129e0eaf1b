/**
 * docs/cli.md is generated from the CLI's commander program (scripts/cli-reference.ts): every
 * registered command must be on the page, and the page must be what the generator writes now.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CLI_REFERENCE, cliReference } from "../../scripts/cli-reference.js";
import { allCommands, commandPath } from "../../scripts/docs/cli-markdown.js";
import { exitCodeRows } from "../../scripts/docs/exit-codes.js";
import { createProgram } from "../../src/cli/main.js";
import { EXIT } from "../../src/ops/errors.js";

const page = readFileSync(CLI_REFERENCE, "utf8");

describe("docs/cli.md", () => {
  it("has a section for every command and subcommand registered in the program", () => {
    const commands = allCommands(createProgram()).slice(1).map(commandPath);
    expect(commands.length).toBeGreaterThan(20);
    const headings = new Set(page.split("\n").filter((line) => /^#{2,6} containment /.test(line)));
    const missing = commands.filter((path) => ![...headings].some((h) => h.replace(/^#+ /, "") === path));
    expect(missing).toEqual([]);
  });

  it("lists every option of every command, by its flags", () => {
    for (const command of allCommands(createProgram()))
      for (const option of command.options)
        expect(page, commandPath(command)).toContain(`\`${option.flags}\``);
  });

  it("has one exit-code row per EXIT member, with the member's doc comment", () => {
    const rows = exitCodeRows();
    expect(rows.map((row) => row.code)).toEqual(Object.values(EXIT).sort((a, b) => a - b));
    for (const row of rows) expect(page).toContain(`| ${row.code} | \`${row.name}\` |`);
  });

  it("is current: what npm run docs writes now", () => {
    expect(page === cliReference(), "docs/cli.md is stale: run npm run docs").toBe(true);
  });
});
