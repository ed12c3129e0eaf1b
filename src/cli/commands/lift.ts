import { Command } from "commander";
import { applyLift, type LiftFailure, planLift } from "../../ops/actions/lift.js";
import { describeStillBlocking, stillBlockingNow } from "../../ops/actions/still-blocking.js";
import { describeMatch } from "../../ops/actions/switch-item.js";
import { describeFailure, usageError } from "../../ops/errors.js";
import { type GlobalFlags, withOpsOptions } from "../ops.js";
import { confirm } from "../prompt.js";
import { maybeWait, type WaitFlags, withWaitOptions } from "../wait.js";
import { auditNote, writeAction } from "../written.js";

interface LiftFlags extends GlobalFlags, WaitFlags {
  incident?: string;
  reason?: string;
}

/** `containment lift <id> | --incident ID`: let a route through again. */
export function liftCommand(): Command {
  const command = new Command("lift")
    .description("lift a kill switch (delete containment_kill_<id>), or every switch of an incident")
    .argument("[id]", "switch id as `containment list` shows it")
    .option("--incident <id>", "lift every switch that references this incident")
    .option("--reason <text>", "why (recorded in the audit trail)")
    .option("-y, --yes", "do not ask for confirmation")
    .addHelpText(
      "after",
      '\nExamples:\n  $ containment lift patients-export --reason "fix deployed" --wait\n  $ containment lift --incident INC-2041 --yes',
    );
  withWaitOptions(withOpsOptions(command));
  return command.action(
    writeAction(async ({ ctx }, _flags, out, id: string | undefined) => {
      const flags = command.opts() as LiftFlags;
      if (id !== undefined && flags.incident !== undefined)
        throw usageError("give a switch id or --incident, not both");
      const plan = await planLift(ctx, {
        ...(id === undefined ? {} : { id }),
        ...(flags.incident === undefined ? {} : { incident: flags.incident }),
      });
      if (!flags.json)
        for (const s of plan.switches)
          console.error(
            `lift ${s.id}: ${describeMatch(s.before.match)} (${s.before.incident ?? "no incident"}, by ${s.before.by ?? "?"})`,
          );
      await confirm(`lift ${plan.switches.length} kill switch${plan.switches.length === 1 ? "" : "es"}?`, {
        yes: flags.yes,
      });
      const failed: LiftFailure[] = [];
      const results = await applyLift(ctx, plan, flags.reason ?? null, failed);
      out.wrote(
        results.map((r) => `lifted ${r.key} (deleted from Edge Config); ${auditNote(r.audit)}`),
        { action: "lift", lifted: results },
        {
          warnings: results.flatMap((r) => r.warnings),
          journaled: results.some((r) => r.audit.journaled),
          incomplete: results.some((r) => r.incomplete),
        },
      );
      // Whether the route is open again: what else still covers it, from the store as it is now.
      const still = [];
      for (const result of results) {
        const match = plan.switches.find((s) => s.id === result.id)?.before.match;
        if (match === undefined) continue;
        const now = await stillBlockingNow(ctx, match);
        still.push({ id: result.id, ...(now ?? { unknown: true }) });
        out.more([describeStillBlocking(describeMatch(match), now)]);
      }
      out.set({ stillBlocking: still });
      // Lifted some, not all: the rest are named, each with why (a conflict, Edge Config down).
      for (const { id: missed, error } of failed)
        out.warn(
          `warning: ${missed} was NOT lifted (${describeFailure(error)}); \`containment list\` shows what is live`,
          "incomplete",
        );
      if (failed.length > 0)
        out.set({
          notLifted: failed.map(({ id: missed, error }) => ({ id: missed, error: describeFailure(error) })),
        });
      const waits = [];
      for (const result of results) {
        const incident = plan.switches.find((s) => s.id === result.id)?.before.incident;
        const wait = await maybeWait(ctx, flags, out, { kind: "absent", id: result.id }, result.writtenAt, {
          incident,
          version: result.version,
        });
        if (wait) waits.push({ id: result.id, ...wait });
      }
      if (flags.wait) out.set({ wait: waits });
    }),
  );
}
