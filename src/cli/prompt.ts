/**
 * Confirmation on a terminal. `--yes` skips it; without a terminal (a pipe, CI) and without `--yes`
 * nothing is changed: a change nobody confirmed is not made.
 */
import { createInterface } from "node:readline/promises";
import { escapeTerminal } from "../core/escape.js";
import { OpsError } from "../ops/errors.js";
import { rawTerminal } from "./terminal.js";

export interface PromptOptions {
  yes?: boolean | undefined;
  /** The exact text to type instead of y (for changes that block everything). */
  phrase?: string;
}

export async function confirm(question: string, options: PromptOptions = {}): Promise<void> {
  if (options.yes && options.phrase === undefined) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    if (options.yes) return;
    throw new OpsError(
      "ERR_DECLINED",
      "not a terminal, so nobody confirmed: re-run with --yes to make the change",
    );
  }
  // readline edits the line with its own control sequences, so it writes past the terminal guard;
  // the question may name data (a switch id), escaped here instead.
  const text = escapeTerminal(question);
  const answer = await rawTerminal(async () => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const wanted = options.phrase;
      const prompt = wanted === undefined ? `${text} [y/N] ` : `${text}\nType "${wanted}" to confirm: `;
      return (await rl.question(prompt)).trim();
    } finally {
      rl.close();
    }
  });
  const wanted = options.phrase;
  const ok = wanted === undefined ? /^y(es)?$/i.test(answer) : answer === wanted;
  if (!ok) throw new OpsError("ERR_DECLINED", "not confirmed: nothing was changed");
}
