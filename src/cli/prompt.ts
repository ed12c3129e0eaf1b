/**
 * Confirmation on a terminal. `--yes` skips it; without a terminal (a pipe, CI) and without `--yes`
 * nothing is changed: a change nobody confirmed is not made.
 */
import { createInterface } from "node:readline/promises";
import { OpsError } from "../ops/errors.js";

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
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const wanted = options.phrase;
    const answer = (
      await rl.question(
        wanted === undefined ? `${question} [y/N] ` : `${question}\nType "${wanted}" to confirm: `,
      )
    ).trim();
    const ok = wanted === undefined ? /^y(es)?$/i.test(answer) : answer === wanted;
    if (!ok) throw new OpsError("ERR_DECLINED", "not confirmed: nothing was changed");
  } finally {
    rl.close();
  }
}
