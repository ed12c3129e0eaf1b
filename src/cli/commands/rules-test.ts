/**
 * `containment rules test FILE [--since 1h] [--requests FILE] [--fail-on-new-blocks]`: what a
 * proposed ruleset would have done to the traffic the mirror recorded (or to a JSONL/HAR
 * recording), decided by the firewall's own engine. Exit 1 with --fail-on-new-blocks when it would
 * block or rate-limit anything that was admitted, so it can gate a rules change in CI.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { configError, usageError } from "../../ops/errors.js";
import { type ReplayResult, replay, requestsFromShapes } from "../../ops/replay.js";
import { parseRecordedRequests } from "../../ops/replay-input.js";
import { readRulesFile } from "../../ops/rules-file.js";
import { action, type GlobalFlags, report, withOpsOptions } from "../ops.js";
import { parseTime } from "../report-inputs.js";

interface TestFlags extends GlobalFlags {
  since: string;
  until?: string;
  requests?: string;
  failOnNewBlocks?: boolean;
}

function print(flags: TestFlags, file: string, result: ReplayResult): number {
  const gate = flags.failOnNewBlocks === true && result.newBlocks + result.newRateLimited > 0;
  if (flags.json) process.stdout.write(`${JSON.stringify({ ok: !gate, file, ...result })}\n`);
  else {
    console.log(
      `${file}: replayed ${result.requests} requests (${result.source}): ${result.newBlocks} newly blocked, ${result.newRateLimited} newly rate-limited, ${result.newlyAdmitted} newly admitted`,
    );
    for (const c of result.changes)
      console.log(
        `  ${c.rule.padEnd(20)} ${c.method.padEnd(6)} ${c.route}  tenant ${c.tenant}: ${c.before} → ${c.after} ×${c.requests}`,
      );
    for (const d of result.detectors) {
      console.log(
        `detector ${d.detector} (${d.type}, threshold ${d.threshold}): ${d.keys} key(s) counted, ${d.tripped} would have tripped`,
      );
      for (const k of d.highest)
        console.log(
          `  highest: ${k.key}${k.tenant ? ` tenant ${k.tenant}` : ""}: ${k.value} in the window from ${k.window}`,
        );
    }
    for (const t of result.detections)
      console.log(
        `  would trip: ${t.at} ${t.detector} on ${t.route} by ${t.key}${t.tenant ? ` tenant ${t.tenant}` : ""}: ${t.value} > ${t.threshold}, ${t.action}`,
      );
    for (const note of result.notes) console.log(`note: ${note}`);
  }
  return gate ? 1 : 0;
}

/** The recorded requests' text; a file that cannot be read is bad input (exit 2), not a crash. */
function readRequests(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw usageError(
      `cannot read --requests ${file} (${code === "ENOENT" ? "no such file" : (code ?? "error")}): give a JSON Lines or HAR file`,
    );
  }
}

export function rulesTestCommand(): Command {
  return withOpsOptions(
    new Command("test")
      .description("replay recorded traffic through a proposed rules document and show what would change")
      .argument("<file>", "proposed rules document (JSON)")
      .option(
        "--since <time>",
        "replay the mirror's traffic from this time (duration ago or ISO 8601; at most 24h)",
        "1h",
      )
      .option("--until <time>", "until this time (default now)")
      .option(
        "--requests <file>",
        "replay these recorded requests instead (JSON Lines or HAR; detectors are replayed only from these)",
      )
      .option("--fail-on-new-blocks", "exit 1 if anything admitted would now be blocked or rate-limited")
      .addHelpText(
        "after",
        "\nExamples:\n  containment rules test rules/proposed.json --since 2h\n  containment rules test rules/proposed.json --requests recording.har --fail-on-new-blocks\n  containment rules test rules/detect.json --requests access-log.jsonl   # who would a detector have tripped on",
      )
      .action(async (file: string, _options: unknown, command: Command) => {
        const flags = command.optsWithGlobals() as TestFlags;
        if (flags.requests !== undefined) {
          try {
            const document = readRulesFile(file);
            const requests = parseRecordedRequests(flags.requests, readRequests(flags.requests));
            // The responder's environment: tenant binding's secrets and the pseudonyms' salt.
            process.exitCode = print(
              flags,
              file,
              await replay(document, requests, "requests", { env: process.env }),
            );
          } catch (error) {
            report(flags, error);
          }
          return;
        }
        await action(async (opened) => {
          const document = readRulesFile(file);
          const reader = opened.ctx.reader;
          if (reader === undefined)
            throw configError(
              "replaying mirrored traffic needs Redis: set UPSTASH_REDIS_REST_URL/TOKEN or --redis, or give --requests",
            );
          const now = opened.ctx.now();
          const since = parseTime("--since", flags.since, now);
          const until = flags.until === undefined ? now : parseTime("--until", flags.until, now);
          const shapes = await reader.shapes({
            from: Math.floor(since / 60_000),
            to: Math.floor(until / 60_000),
          });
          return print(flags, file, await replay(document, requestsFromShapes(shapes), "aggregates"));
        })(_options as GlobalFlags, command);
      }),
  );
}
