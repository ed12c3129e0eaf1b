import { Command, InvalidArgumentError } from "commander";
import { parseDuration } from "../../core/duration.js";
import { applyKill, type KillInput, type KillPlan, planKill, refusal } from "../../ops/actions/kill.js";
import { describePreview } from "../../ops/actions/preview.js";
import { describeDiff } from "../../ops/actions/switch-scope.js";
import type { OpsContext } from "../../ops/context.js";
import { isOpsError, usageError } from "../../ops/errors.js";
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
  narrow?: boolean;
  newRoute?: boolean;
}

/** Plans a concurrent responder's write made stale are re-made against the store as it is now. */
const MAX_REPLANS = 3;

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

/** What the responder reads before confirming: the change, its diff, what stays beside it, the route check. */
function describePlan(plan: KillPlan, pattern: string): string[] {
  const verb =
    plan.before === undefined
      ? "create"
      : `replace (version ${plan.before.version ?? 0} → ${plan.item.version})`;
  const lines = [
    `${verb} kill switch ${plan.id}: ${pattern} → ${plan.item.status}${plan.item.expiresAt ? ` until ${plan.item.expiresAt}` : " until lifted"}${plan.item.mode === "monitor" ? " (monitor only)" : ""}`,
  ];
  if (plan.before !== undefined) {
    lines.push(`  ${plan.id} as it is (old → new):`, ...describeDiff(plan.diff));
    if (plan.narrows.length > 0)
      lines.push(`  THIS BLOCKS LESS than the switch it replaces: ${plan.narrows.join("; ")}`);
  }
  for (const other of plan.alongside)
    lines.push(
      `  kill switch ${other.id} (${other.incident ?? "no incident"}) on this route stays in force beside it`,
    );
  if (plan.routes.known === 0)
    lines.push(
      `  warning: no known routes to check the pattern against (no .next route manifest here, no recorded traffic${plan.routes.notes.length > 0 ? `; ${plan.routes.notes.join("; ")}` : ""}): a misspelled route would block nothing`,
    );
  else if (plan.routes.unknown.length > 0 && plan.newRoute)
    lines.push(`  ${plan.routes.unknown.map((u) => u.pattern).join(", ")}: a new route (--new-route)`);
  lines.push(describePreview(plan.preview));
  lines.push(`store: ${plan.size.after} of ${plan.size.limit} bytes (${plan.size.plan} plan)`);
  return lines;
}

/**
 * Plans, shows, confirms and writes; when another responder's write lands between this read and
 * this write (the revision marker's `create` conflicts), re-plans against the store as it is now
 * and shows and confirms that instead: a write is never made against a store nobody looked at.
 */
async function planConfirmApply(
  ctx: OpsContext,
  flags: KillFlags,
  input: KillInput,
): Promise<{ plan: KillPlan; result: Awaited<ReturnType<typeof applyKill>> }> {
  for (let attempt = 1; ; attempt++) {
    const plan = await planKill(ctx, input);
    if (!flags.json) for (const line of describePlan(plan, String(input.pattern))) console.error(line);
    const refused = refusal(plan);
    if (refused !== undefined) throw refused;
    if (plan.everyRoute) {
      if (!flags.allRoutes && !process.stdin.isTTY)
        throw usageError(
          "this switch blocks EVERY route of every tenant: add --all-routes to confirm that, or narrow it with --tenant/--method/--host",
        );
      if (!flags.allRoutes)
        await confirm("This blocks EVERY route for EVERY tenant.", { phrase: "block every route" });
    }
    const verb = plan.before === undefined ? "create" : plan.narrows.length > 0 ? "NARROW" : "replace";
    await confirm(`${verb} kill switch ${plan.id}?`, { yes: flags.yes });
    try {
      return { plan, result: await applyKill(ctx, plan) };
    } catch (error) {
      if (!isOpsError(error) || error.code !== "ERR_CONFLICT" || attempt >= MAX_REPLANS) throw error;
      if (!flags.json)
        console.error(
          `another responder changed kill switch ${plan.id} meanwhile: nothing of this was written; planning again against the store as it is now`,
        );
    }
  }
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
    .option(
      "--narrow",
      "allow replacing this incident's switch with one that blocks less (fewer paths, tenants, methods or hosts, monitor, ends sooner, another incident)",
    )
    .option("--new-route", "allow a pattern that matches no known route (Next.js manifest, recorded traffic)")
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
      const input: KillInput = {
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
        ...(flags.narrow ? { narrow: true } : {}),
        ...(flags.newRoute ? { newRoute: true } : {}),
      };
      const { plan, result } = await planConfirmApply(ctx, flags, input);
      out.wrote(
        [
          `${result.created ? "created" : "replaced"} ${result.key} (version ${result.version}) in Edge Config${result.fastLane === "published" ? ", published to the fast lane" : ""}; ${auditNote(result.audit)}`,
        ],
        {
          action: "kill",
          ...result,
          preview: plan.preview,
          size: plan.size,
          item: plan.item,
          diff: plan.diff,
          narrows: plan.narrows,
          alongside: plan.alongside,
        },
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
