/**
 * The commands a Markdown file tells a reader to run: every command of its shell code blocks
 * (```sh, ```bash, ```shell, ```console), as the shell would split it into words. Continuation lines
 * are joined, `# comments` and a leading `$ ` prompt dropped, and `a && b` is two commands. It is no
 * shell: subshells, pipes and redirections stay words, which is all the README's commands need.
 * test/docs/readme-commands.test.ts runs the README's through this (docs/development.md, "Docs").
 */
import { fencedBlocks } from "./markdown-lines.js";

export interface ShellCommand {
  /** Line of the block where the command starts. */
  line: number;
  /** The heading the block stands under, as written. */
  heading: string;
  /** Its words joined by single spaces (quotes removed): how messages and tables name it. */
  text: string;
  /** Its words after quote removal, e.g. `["containment", "kill", "/api/:tenant/**", …]`. */
  argv: string[];
}

const SHELL_BLOCKS = new Set(["sh", "bash", "shell", "console", "zsh"]);

/** Splits a command line into words and `&&` / `||` / `;` separated commands, honouring quotes. */
export function shellWords(text: string): string[][] {
  const commands: string[][] = [[]];
  let word: string | undefined;
  const end = () => {
    if (word !== undefined) commands[commands.length - 1]?.push(word);
    word = undefined;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "'" || c === '"') {
      const close = text.indexOf(c, i + 1);
      if (close === -1) throw new Error(`unterminated ${c} in: ${text}`);
      const inner = text.slice(i + 1, close);
      word = (word ?? "") + (c === '"' ? inner.replace(/\\(["\\$`])/g, "$1") : inner);
      i = close;
    } else if (c === "\\" && i + 1 < text.length) {
      word = (word ?? "") + text[++i];
    } else if (c === "#" && word === undefined) {
      break;
    } else if (/\s/.test(c)) {
      end();
    } else if (c === ";" || ((c === "&" || c === "|") && text[i + 1] === c)) {
      end();
      if (c !== ";") i++;
      commands.push([]);
    } else {
      word = (word ?? "") + c;
    }
  }
  end();
  return commands.filter((argv) => argv.length > 0);
}

export function shellCommands(markdown: string): ShellCommand[] {
  const out: ShellCommand[] = [];
  for (const block of fencedBlocks(markdown)) {
    if (!SHELL_BLOCKS.has(block.info)) continue;
    let pending: { line: number; text: string } | undefined;
    for (const line of block.lines) {
      const text = line.text.replace(/^\s*\$ /, "");
      pending =
        pending === undefined
          ? { line: line.number, text }
          : { ...pending, text: `${pending.text} ${text.trim()}` };
      if (/\\\s*$/.test(pending.text)) {
        pending.text = pending.text.replace(/\\\s*$/, "");
        continue;
      }
      for (const argv of shellWords(pending.text))
        out.push({ line: pending.line, heading: block.heading, text: argv.join(" "), argv });
      pending = undefined;
    }
  }
  return out;
}
