import { Command, InvalidArgumentError } from "commander";
import { parseDuration } from "../../core/duration.js";
import { applyKill, planKill } from "../../ops/actions/kill.js";
import { describePreview } from "../../ops/actions/preview.js";
import { usageError } from "../../ops/errors.js";
import { type GlobalFlags, withOpsOptions } from "../ops.js";
import { confirm } from "../prompt.js";
import { maybeWait, type WaitFlags, withWaitOptions } from "../wait.js";
import { auditNote, factsOf, writeAction } from "../written.js";

interface KillFlags extends GlobalFlags, WaitFlags {
  reason: string;
  incident?: string;
  tenant?: string[];
  method?: string[];
  host?: string[];
  for?: number;
  until?: string;
  status?: number;
  message?: string;
  id?: string;
  monitor?: boolean;
  allRoutes?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function durationArg(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new InvalidArgumentError("must be a duration like 30m, 2h or 1d");
  return ms;
}

function statusArg(text: string): number {
  const n = Number(text);
  if (!/^\d{3}$/.test(text) || n < 400 || n > 599)
    throw new InvalidArgumentError("must be a 4xx or 5xx status, e.g. 503");
  return n;
}

/** `containment kill <pattern>`: block a route now, through Edge Config. */
export function killCommand(): Command {
  const command = new Command("kill")
    .description("block a route now: writes the kill switch containment_kill_<id> to Edge Config")
    .argument("<path-pattern>", "route to block, e.g. /api/:tenant/export/** (literal, :name, *, final **)")
    .requiredOption("--reason <text>", "why (recorded in the switch and the audit trail)")
    .option("--incident <id>", 'incident id, e.g. INC-2041 (default: "incident" in containment.json)')
    .option("--tenant <tenant>", "only this tenant (repeatable)", collect)
    .option("--method <method>", "only this HTTP method (repeatable)", collect)
    .option("--host <host>", "only this host (repeatable)", collect)
    .option("--for <duration>", "lift itself after this long, e.g. 2h", durationArg)
    .option("--until <time>", "lift itself at this time, e.g. 2026-11-23T20:00:00Z")
    .option("--status <code>", "status of blocked responses (default 503)", statusArg)
    .option("--message <text>", "public message of blocked responses")
    .option("--id <id>", "switch id (default: from the pattern's literal segments)")
    .option("--monitor", "record what it would block, block nothing")
    .option("--all-routes", "confirm a switch that blocks every route (/** with no scope)")
    .option("-y, --yes", "do not ask for confirmation")
    .addHelpText(
      "after",
      `
Example:
  $ containment kill '/api/:tenant/patients/*/export' --tenant acme --for 2h \\
      --reason "bulk export from unknown IPs" --incident INC-2041 --wait`,
    );
  withWaitOptions(withOpsOptions(command));
  return command.action(
    writeAction(async ({ ctx }, _flags, out, pattern: string) => {
      const flags = command.opts() as KillFlags;
      const plan = await planKill(ctx, {
        pattern,
        reason: flags.reason,
        incident: flags.incident as string,
        ...(flags.tenant ? { tenants: flags.tenant } : {}),
        ...(flags.method ? { methods: flags.method } : {}),
        ...(flags.host ? { hosts: flags.host } : {}),
        ...(flags.for !== undefined ? { forMs: flags.for } : {}),
        ...(flags.until !== undefined ? { until: flags.until } : {}),
        ...(flags.status !== undefined ? { status: flags.status } : {}),
        ...(flags.message !== undefined ? { message: flags.message } : {}),
        ...(flags.id !== undefined ? { id: flags.id } : {}),
        ...(flags.monitor ? { monitor: true } : {}),
      });
      const verb =
        plan.before === undefined
          ? "create"
          : `replace (version ${plan.before.version ?? 0} → ${plan.item.version})`;
      if (!flags.json) {
        console.error(
          `${verb} kill switch ${plan.id}: ${pattern} → ${plan.item.status}${plan.item.expiresAt ? ` until ${plan.item.expiresAt}` : " until lifted"}${plan.item.mode === "monitor" ? " (monitor only)" : ""}`,
        );
        console.error(describePreview(plan.preview));
        console.error(`store: ${plan.size.after} of ${plan.size.limit} bytes (${plan.size.plan} plan)`);
      }
      if (plan.everyRoute) {
        if (!flags.allRoutes && !process.stdin.isTTY)
          throw usageError(
            "this switch blocks EVERY route of every tenant: add --all-routes to confirm that, or narrow it with --tenant/--method/--host",
          );
        if (!flags.allRoutes)
          await confirm("This blocks EVERY route for EVERY tenant.", { phrase: "block every route" });
      }
      await confirm(`${verb} kill switch ${plan.id}?`, { yes: flags.yes });
      const result = await applyKill(ctx, plan);
      out.wrote(
        [
          `${result.created ? "created" : "replaced"} ${result.key} (version ${result.version}) in Edge Config${result.fastLane === "published" ? ", published to the fast lane" : ""}; ${auditNote(result.audit)}`,
        ],
        { action: "kill", ...result, preview: plan.preview, size: plan.size, item: plan.item },
        factsOf(result),
      );
      const wait = await maybeWait(
        ctx,
        flags,
        out,
        { kind: "present", id: result.id, version: result.version },
        result.writtenAt,
        { incident: plan.item.incident, version: result.version },
      );
      if (wait) out.set({ wait });
    }),
  );
}
