import { Command } from "commander";
import { applyExtend, planExtend } from "../../ops/actions/extend.js";
import { type GlobalFlags, withOpsOptions } from "../ops.js";
import { confirm } from "../prompt.js";
import { maybeWait, type WaitFlags, withWaitOptions } from "../wait.js";
import { auditNote, factsOf, writeAction } from "../written.js";
import { durationArg } from "./kill.js";

interface ExtendFlags extends GlobalFlags, WaitFlags {
  for?: number;
  until?: string;
  reason?: string;
}

/** `containment extend <id> --for 1h`: keep a switch on longer. */
export function extendCommand(): Command {
  const command = new Command("extend")
    .description(
      "move a kill switch's expiry later (an update of the item as read: never revives a lifted switch)",
    )
    .argument("<id>", "switch id as `containment list` shows it")
    .option("--for <duration>", "this much longer than its current expiry, e.g. 1h", durationArg)
    .option("--until <time>", "new expiry, e.g. 2026-11-23T22:00:00Z")
    .option("--reason <text>", "why (recorded in the audit trail)")
    .option("-y, --yes", "do not ask for confirmation")
    .addHelpText(
      "after",
      '\nExample:\n  $ containment extend patients-export --for 1h --reason "vendor fix not deployed yet"',
    );
  withWaitOptions(withOpsOptions(command));
  return command.action(
    writeAction(async ({ ctx }, _flags, out, id: string) => {
      const flags = command.opts() as ExtendFlags;
      const plan = await planExtend(ctx, {
        id,
        ...(flags.for === undefined ? {} : { forMs: flags.for }),
        ...(flags.until === undefined ? {} : { until: flags.until }),
      });
      if (!flags.json)
        console.error(`extend ${id}: expires ${plan.before.expiresAt ?? "never"} → ${plan.item.expiresAt}`);
      await confirm(`extend kill switch ${id}?`, { yes: flags.yes });
      const result = await applyExtend(ctx, plan, flags.reason ?? null);
      out.wrote(
        [
          `extended ${result.key} until ${result.expiresAt} (version ${result.version}) in Edge Config; ${auditNote(result.audit)}`,
        ],
        { action: "extend", ...result },
        factsOf(result),
      );
      const wait = await maybeWait(
        ctx,
        flags,
        out,
        { kind: "present", id, version: result.version },
        result.writtenAt,
        { incident: plan.item.incident, version: result.version },
      );
      if (wait) out.set({ wait });
    }),
  );
}
