/**
 * How a command that changes something reports and ends (docs/runbook.md, "When a dependency
 * fails"). Once its write landed, the first line on stdout says what was written (with --json, the
 * one object says `"written": true`), whatever fails afterwards: the audit append (journaled
 * locally), the fast lane, the anchor, a webhook, `--wait`, or a bug. Each such failure is one
 * warning line on stderr (and in `warnings`), and the exit code names the situation
 * (`writtenExit`), never 1. A failure before the write ends with one line saying nothing was
 * changed, with the code of its cause.
 */
import type { Command } from "commander";
import { isContainmentError } from "../core/errors.js";
import type { OpsConfig } from "../ops/config.js";
import {
  type AfterWrite,
  describeFailure,
  EXIT,
  exitName,
  isOpsError,
  OpsError,
  writtenExit,
} from "../ops/errors.js";
import { action, type GlobalFlags, type Opened, report } from "./ops.js";
import { redactOutput } from "./secrets.js";

/** What a warning says went wrong: it decides the exit code (`note` changes nothing). */
export type WarningKind = keyof AfterWrite | "note";

export class Written {
  #written = false;
  #unchanged = false;
  readonly #after: AfterWrite = { journaled: false, unconfirmed: false, incomplete: false };
  readonly #warnings: string[] = [];
  readonly #fields: Record<string, unknown> = {};

  constructor(
    readonly flags: GlobalFlags,
    readonly config?: OpsConfig,
  ) {}

  /** Every line and JSON string printed, with the run's secrets masked (src/cli/secrets.ts). */
  #line(text: string): string {
    return `${redactOutput(text, this.flags, this.config)}\n`;
  }

  #json(value: unknown): string {
    return `${JSON.stringify(value, (_key, field: unknown) =>
      typeof field === "string" ? redactOutput(field, this.flags, this.config) : field,
    )}\n`;
  }

  /** Whether the write landed (from then on the command cannot fail, only warn). */
  get written(): boolean {
    return this.#written;
  }

  /**
   * The write landed: prints `lines` on stdout at once (the first is the command's first line of
   * output), then each warning of the write itself on stderr.
   */
  wrote(
    lines: readonly string[],
    json: Record<string, unknown>,
    facts: { warnings?: readonly string[]; journaled?: boolean; incomplete?: boolean } = {},
  ): void {
    this.#written = true;
    this.set(json);
    if (!this.flags.json) for (const line of lines) process.stdout.write(this.#line(line));
    for (const line of facts.warnings ?? []) this.warn(line);
    if (facts.journaled) this.#after.journaled = true;
    if (facts.incomplete) this.#after.incomplete = true;
  }

  /** More lines on stdout after the first (what a change left in force, …); none with --json. */
  more(lines: readonly string[]): void {
    if (!this.flags.json) for (const line of lines) process.stdout.write(this.#line(line));
  }

  /** Nothing to write (a dry run, nothing differs): says so, `"written": false`, and ends with 0. */
  unchanged(lines: readonly string[], json: Record<string, unknown>): void {
    this.#unchanged = true;
    if (this.flags.json) process.stdout.write(this.#json({ ok: true, written: false, ...json }));
    else for (const line of lines) process.stdout.write(this.#line(line));
  }

  /** More fields of the `--json` object. */
  set(json: Record<string, unknown>): void {
    Object.assign(this.#fields, json);
  }

  /** One line on stderr (and in `warnings`); `kind` says what it means for the exit code. */
  warn(line: string, kind: WarningKind = "note"): void {
    this.#warnings.push(line);
    process.stderr.write(this.#line(line));
    if (kind !== "note") this.flag(kind);
  }

  /** Marks what went wrong (its lines were printed already). */
  flag(kind: keyof AfterWrite): void {
    this.#after[kind] = true;
  }

  /** Something thrown after the write: a warning, never the command's failure. */
  failedAfterWrite(error: unknown): void {
    this.warn(
      `warning: a step after the write failed (${describeFailure(error)}); the change stands`,
      "incomplete",
    );
    if (process.env.CONTAINMENT_DEBUG && error instanceof Error)
      process.stderr.write(this.#line(error.stack ?? error.message));
  }

  /** Prints the `--json` object (with --json) and answers the exit code. */
  finish(): number {
    if (this.#unchanged && !this.#written) return EXIT.ok;
    const code = writtenExit(this.#after);
    if (this.flags.json)
      process.stdout.write(
        this.#json({
          ok: true,
          written: true,
          outcome: exitName(code),
          ...this.#fields,
          warnings: this.#warnings,
        }),
      );
    return code;
  }
}

/** Where a change's audit entries went, for its first line: `audit #3–#4`, or the journal. */
export function auditNote(audit: { intent?: number; result?: number; journaled: boolean }): string {
  if (!audit.journaled) return `audit #${audit.intent}–#${audit.result}`;
  return "AUDIT JOURNALED locally (Redis unreachable): run `containment audit sync`";
}

/** The facts `wrote` takes from a change's outcome (src/ops/actions/change.ts). */
export function factsOf(outcome: {
  warnings: readonly string[];
  audit: { journaled: boolean };
  incomplete: boolean;
}) {
  return { warnings: outcome.warnings, journaled: outcome.audit.journaled, incomplete: outcome.incomplete };
}

/** A failure before the write, as the one line that says nothing was changed, with its cause's code. */
export function nothingChanged(error: unknown): unknown {
  const strip = (message: string) => message.replace(/^edge-containment: /, "");
  const said = (message: string) =>
    /nothing was (changed|sent|written)|whether the change was applied/i.test(message);
  if (isOpsError(error))
    return said(error.message)
      ? error
      : new OpsError(error.code, `${strip(error.message)}: nothing was changed`, error.details);
  if (isContainmentError(error)) {
    const input = error.code === "ERR_RULES_INVALID" || error.code === "ERR_CONFIG";
    return new OpsError(
      input ? "ERR_USAGE" : "ERR_UNAVAILABLE",
      said(error.message) ? strip(error.message) : `${strip(error.message)}: nothing was changed`,
      error.issues.length > 0 ? { issues: error.issues } : {},
    );
  }
  return error;
}

/**
 * `action` for a command that writes: `body` calls `out.wrote(…)` the moment its write landed.
 * Anything thrown before that says nothing was changed (`written: false` with --json); anything
 * thrown after is a warning, and the exit code is `out.finish()`'s.
 */
export function writeAction<A extends unknown[]>(
  body: (opened: Opened, flags: GlobalFlags, out: Written, ...args: A) => Promise<void>,
): (...args: [...A, GlobalFlags, Command]) => Promise<void> {
  return action<A>(async (opened, flags, ...args) => {
    const out = new Written(flags, opened.config);
    try {
      await body(opened, flags, out, ...args);
    } catch (error) {
      if (!out.written) {
        report(flags, nothingChanged(error), opened.config, { written: false });
        return undefined;
      }
      out.failedAfterWrite(error);
    }
    return out.finish();
  });
}
