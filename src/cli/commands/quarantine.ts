import { Command } from "commander";
import { formatLeft } from "../../ops/actions/list.js";
import { listQuarantines, releaseQuarantine } from "../../ops/actions/quarantine.js";
import { isoSeconds } from "../../ops/report/clocks.js";
import type { QuarantineRecord } from "../../stores/mirror/reader-types.js";
import { action, emit, type GlobalFlags, withOpsOptions } from "../ops.js";
import { confirm } from "../prompt.js";
import { auditNote, writeAction } from "../written.js";

const time = (value: unknown): string | undefined =>
  typeof value === "number" && Number.isFinite(value) ? isoSeconds(value) : undefined;

/**
 * One row of `quarantine list` for a person: the target as `release` takes it, the time left, and
 * the evidence's facts by name (its raw JSON is for `--json`).
 */
export function quarantineLine(q: QuarantineRecord): string {
  const facts = [
    `${q.dimension}:${q.id}${q.rule ? `:${q.rule}` : ""}`,
    formatLeft(q.ttlMs < 0 ? null : q.ttlMs),
  ];
  if (typeof q.record === "string") return [...facts, "(evidence record unreadable)"].join("  ");
  const { rule, at, tenant } = q.record;
  if (typeof rule === "string" && rule !== q.rule) facts.push(`rule ${rule}`);
  if (time(at) !== undefined) facts.push(`since ${time(at)}`);
  if (typeof tenant === "string") facts.push(`tenant ${tenant}`);
  return facts.join("  ");
}

function listCommand(): Command {
  const command = new Command("list")
    .description("identities quarantined after repeated rate-limit trips")
    .addHelpText("after", "\nExample:\n  $ containment quarantine list");
  return withOpsOptions(command).action(
    action(async ({ ctx }, flags) => {
      const rows = await listQuarantines(ctx);
      emit(
        flags,
        { quarantines: rows },
        rows.length === 0 ? ["nobody is quarantined"] : rows.map(quarantineLine),
      );
      return 0;
    }),
  );
}

function releaseCommand(): Command {
  const command = new Command("release")
    .description("release a quarantined identity now (a false positive), audited")
    .argument("<target>", "<dimension>:<id>[:<rule>] as `quarantine list` prints it")
    .option("--reason <text>", "why (recorded in the audit trail)")
    .option("--incident <id>", "incident id")
    .option("-y, --yes", "do not ask for confirmation")
    .addHelpText(
      "after",
      '\nExample:\n  $ containment quarantine release tenant+user:1f2e3d4c5b6a7980.0a1b2c3d4e5f6789 --reason "partner\'s batch job"',
    );
  return withOpsOptions(command).action(
    writeAction(async ({ ctx }, _flags, out, target: string) => {
      const flags = command.opts() as GlobalFlags & { reason?: string; incident?: string };
      await confirm(`release quarantine ${target}?`, { yes: flags.yes });
      const result = await releaseQuarantine(
        ctx,
        target,
        flags.reason ?? null,
        flags.incident ?? ctx.config.incident ?? null,
      );
      out.wrote(
        [
          `${result.released ? `released quarantine ${target} (deleted from Redis)` : `quarantine ${target} was already gone (expired meanwhile)`}; ${result.journaled ? auditNote({ journaled: true }) : "audited"}`,
        ],
        { action: "quarantine-release", ...result },
        result,
      );
    }),
  );
}

export function quarantineCommand(): Command {
  return new Command("quarantine")
    .description("list and release quarantined identities")
    .addHelpText(
      "after",
      `\nExamples:\n  $ containment quarantine list\n  $ containment quarantine release tenant:1f2e3d4c5b6a7980 --reason "partner batch job"`,
    )
    .addCommand(listCommand())
    .addCommand(releaseCommand());
}
