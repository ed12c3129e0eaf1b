import { Command } from "commander";
import { applyLift, planLift } from "../../ops/actions/lift.js";
import { describeMatch } from "../../ops/actions/switch-item.js";
import { usageError } from "../../ops/errors.js";
import { action, emit, type GlobalFlags, withOpsOptions } from "../ops.js";
import { confirm } from "../prompt.js";
import { maybeWait, type WaitFlags, withWaitOptions } from "../wait.js";

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
    action(async ({ ctx }, _flags, id: string | undefined) => {
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
      const results = await applyLift(ctx, plan, flags.reason ?? null);
      for (const line of results.flatMap((r) => r.warnings)) console.error(line);
      let code = 0;
      const waits = [];
      for (const result of results) {
        const incident = plan.switches.find((s) => s.id === result.id)?.before.incident;
        const waited = await maybeWait(ctx, flags, { kind: "absent", id: result.id }, result.writtenAt, {
          incident,
          version: result.version,
        });
        if (waited.code !== 0) code = waited.code;
        if (waited.json) waits.push({ id: result.id, ...waited.json });
      }
      emit(
        flags,
        { action: "lift", lifted: results, ...(flags.wait ? { wait: waits } : {}) },
        results.map(
          (r) => `lifted ${r.key}; audit #${r.audit.intent ?? "journal"}–#${r.audit.result ?? "journal"}`,
        ),
      );
      return code !== 0 ? code : results.some((r) => r.audit.journaled) ? 9 : 0;
    }),
  );
}
