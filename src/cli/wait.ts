/** `--wait` / `--timeout` for the commands that change enforcement, printing each region as it confirms. */
import { type Command, InvalidArgumentError, Option } from "commander";
import { type ConfirmResult, describeConfirm, type Expectation, waitForEnforcement } from "../ops/confirm.js";
import type { OpsContext } from "../ops/context.js";
import { failureCause } from "../ops/errors.js";
import { recordConfirmation } from "../ops/incidents.js";
import type { Written } from "./written.js";

export interface WaitFlags {
  wait?: boolean;
  timeout: number;
  window: number;
}

function seconds(text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || n <= 0 || n > 3600)
    throw new InvalidArgumentError("must be a number of seconds from 1 to 3600");
  return n;
}

export function withWaitOptions(command: Command): Command {
  return command
    .option(
      "--wait",
      "wait until every region's isolates enforce this change (needs Redis and CONTAINMENT_REPORT_SECRET)",
    )
    .addOption(new Option("--timeout <seconds>", "how long --wait waits").argParser(seconds).default(60))
    .addOption(
      new Option("--window <seconds>", "isolates seen within this long must all confirm")
        .argParser(seconds)
        .default(30),
    );
}

/** What the incident's confirmations record a wait under: the incident, and the switch version it confirms (lifted, for a lift). */
export interface RecordAs {
  incident: string | null | undefined;
  version: number;
}

/**
 * Waits when asked (after the write: `out.wrote` has said so already). Never throws for Redis:
 * unreadable, it ends in one line saying it cannot confirm and why. Anything not confirmed is an
 * `unconfirmed` warning (exit 5, or 10 with a journaled audit); a failed record of the
 * confirmations with the incident is an `incomplete` one. `recordAs` null: nothing to record (a
 * rules push is confirmed by digest, which the report does not show per change).
 */
export async function maybeWait(
  ctx: OpsContext,
  flags: WaitFlags & { json?: boolean },
  out: Written,
  expectation: Expectation,
  writtenAt: number,
  recordAs: RecordAs | null,
): Promise<ConfirmResult | undefined> {
  if (!flags.wait) return undefined;
  if (!flags.json)
    process.stderr.write(
      `waiting up to ${flags.timeout} s for every region to enforce it (Ctrl-C stops waiting; the change stays written)…\n`,
    );
  // Ctrl-C ends the wait, not the command: the change is already written, and the responder is
  // told which regions confirmed it (exit 5, like a timeout) instead of being left with nothing.
  const interrupt = new AbortController();
  const stop = () => interrupt.abort();
  process.once("SIGINT", stop);
  const result = await waitForEnforcement(ctx, {
    expectation,
    writtenAt,
    timeoutMs: flags.timeout * 1000,
    windowMs: flags.window * 1000,
    signal: interrupt.signal,
    onRegion: (region) => {
      if (!flags.json)
        process.stdout.write(
          `confirmed in ${region.region} after ${(region.afterMs / 1000).toFixed(1)} s (${region.isolates} isolate${region.isolates === 1 ? "" : "s"})\n`,
        );
    },
  }).finally(() => process.off("SIGINT", stop));
  for (const line of describeConfirm(result, flags.window * 1000)) out.warn(line);
  if (!result.ok) out.flag("unconfirmed");
  if (result.ok && !flags.json)
    process.stdout.write(`enforced in every region seen (${result.confirmed.length})\n`);
  if (recordAs !== null) await recordForIncident(ctx, out, recordAs, expectation, writtenAt, result);
  return result;
}

/**
 * The incident report times each region's confirmation from the write; the isolate reports that
 * prove it expire in minutes, so the confirmations are kept with the incident. A lift's are kept
 * under the version it lifted, so a switch lifted twice in one incident keeps both.
 */
async function recordForIncident(
  ctx: OpsContext,
  out: Written,
  recordAs: RecordAs,
  expectation: Expectation,
  writtenAt: number,
  result: ConfirmResult,
): Promise<void> {
  const incident = recordAs.incident;
  if (!incident || ctx.redis === undefined || expectation.kind === "digest" || result.confirmed.length === 0)
    return;
  const incidents = { client: ctx.redis, prefix: ctx.config.prefix, now: ctx.now };
  try {
    for (const region of result.confirmed)
      await recordConfirmation(incidents, incident, {
        switchId: expectation.id,
        version: recordAs.version,
        state: expectation.kind,
        region: region.region,
        at: writtenAt + region.afterMs,
        isolates: region.isolates,
      });
  } catch (error) {
    out.warn(
      `warning: the confirmations were not recorded with incident ${incident} (Redis ${failureCause(error)}): its report will show this change as not confirmed`,
      "incomplete",
    );
  }
}
