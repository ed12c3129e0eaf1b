import { Command } from "commander";
import {
  approveDetection,
  type DetectionRow,
  enterDetections,
  listDetections,
  releaseDetection,
} from "../../ops/detections.js";
import { usageError } from "../../ops/errors.js";
import { decoyHash } from "../../rules/detector/decoy.js";
import { alertTargets } from "../../stores/detect/alerts.js";
import { action, emit, type GlobalFlags, report, withOpsOptions } from "../ops.js";
import { confirm } from "../prompt.js";
import { writeAction } from "../written.js";

export function detectionLine(d: DetectionRow): string {
  const measure: Record<string, string> = { enumeration: "distinct", probing: "refusals", surge: "requests" };
  const released = d.state === "released" ? `  released by ${d.releasedBy ?? "?"}` : "";
  return `${d.id}  ${new Date(d.at).toISOString()}  ${d.type} ${d.detector} on ${d.route}  ${d.key}${d.tenant ? ` tenant ${d.tenant}` : ""}  ${d.value} ${measure[d.type] ?? "hits"} > ${d.threshold}  ${d.action}${released}`;
}

function listCommand(): Command {
  const command = new Command("list")
    .description("detections the edge made (newest first), entering new ones into the audit chain")
    .option("--limit <n>", "how many", "50")
    .addHelpText("after", "\nExample:\n  $ containment detections list");
  return withOpsOptions(command).action(
    action(async ({ ctx }, flags) => {
      const limit = Number((command.opts() as { limit: string }).limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw usageError("--limit must be a whole number from 1 to 1000");
      const rows = await listDetections(ctx, limit);
      const entered = await enterDetections(ctx, rows);
      for (const line of entered.warnings) ctx.warn(line);
      emit(
        flags,
        { detections: rows, entered: entered.entered },
        rows.length === 0
          ? ["no detections"]
          : [
              ...rows.map(detectionLine),
              ...(entered.entered > 0
                ? [`entered ${entered.entered} into the audit chain (attested by the edge)`]
                : []),
            ],
      );
      return 0;
    }),
  );
}

function releaseCommand(): Command {
  const command = new Command("release")
    .description("release a detection: delete the quarantine it set, resolve its alert; audited")
    .argument("<id>", "detection id as `detections list` prints it")
    .option("--reason <text>", "why (recorded in the audit trail)")
    .option("--incident <id>", "incident id")
    .option("-y, --yes", "do not ask for confirmation")
    .addHelpText(
      "after",
      '\nExample:\n  $ containment detections release patient-enumeration.1a2b3c.0f1e2d3c4b5a --reason "nightly export job"',
    );
  return withOpsOptions(command).action(
    writeAction(async ({ ctx }, _flags, out, id: string) => {
      const flags = command.opts() as GlobalFlags & { reason?: string; incident?: string };
      await confirm(`release detection ${id}?`, { yes: flags.yes });
      const result = await releaseDetection(
        ctx,
        id,
        flags.reason ?? null,
        flags.incident ?? ctx.config.incident ?? null,
        alertTargets(process.env),
      );
      out.wrote(
        [
          `released detection ${id}${result.quarantine === "released" ? " and deleted its quarantine" : result.quarantine === "was-gone" ? " (its quarantine had already ended)" : ""}; audited`,
        ],
        { action: "detection-release", ...result },
        { warnings: result.warnings },
      );
    }),
  );
}

function approveCommand(): Command {
  const command = new Command("approve")
    .description("approve a whole-tenant containment a detector proposed (bounded in time); audited")
    .argument("<id>", "detection id whose action is awaiting-approval")
    .option("--reason <text>", "why (recorded in the audit trail)")
    .option("--incident <id>", "incident id")
    .option("-y, --yes", "do not ask for confirmation")
    .addHelpText(
      "after",
      "\nExample:\n  $ containment detections approve tenant-surge.1a2b3c.0f1e2d3c4b5a --incident INC-7",
    );
  return withOpsOptions(command).action(
    writeAction(async ({ ctx }, _flags, out, id: string) => {
      const flags = command.opts() as GlobalFlags & { reason?: string; incident?: string };
      await confirm(`contain the whole tenant of detection ${id}?`, { yes: flags.yes });
      const result = await approveDetection(
        ctx,
        id,
        flags.reason ?? null,
        flags.incident ?? ctx.config.incident ?? null,
      );
      out.wrote(
        [
          `approved detection ${id}: quarantine ${result.quarantine === "set" ? "set" : "was already set"}; audited`,
        ],
        { action: "detection-approve", ...result },
        { warnings: result.warnings },
      );
    }),
  );
}

function decoyHashCommand(): Command {
  const command = new Command("decoy-hash")
    .description("the keyed hash of a honeytoken decoy value, for a honeytoken detector's decoys")
    .argument("<value>", "the decoy id, path segment or tenant (never committed anywhere)")
    .option("--key-env <name>", "environment variable holding the decoy key", "CONTAINMENT_DECOY_KEY")
    .option("--json", "print one machine-readable JSON object")
    .addHelpText(
      "after",
      "\nExample:\n  $ export CONTAINMENT_DECOY_KEY=…   # the deployment's decoy key\n  $ containment detections decoy-hash 99999",
    );
  // Reads nothing but the key: no ops context to open, so errors are reported here.
  return command.action(async (value: string) => {
    const flags = command.opts() as { keyEnv: string; json?: boolean };
    try {
      const secret = process.env[flags.keyEnv];
      if (!secret || secret.length < 16)
        throw usageError(`set ${flags.keyEnv} to the deployment's decoy key (at least 16 characters)`);
      const hash = await decoyHash(secret, value);
      // The value itself is never echoed: only its keyed hash goes into a rules file.
      emit(flags, { hash }, [hash]);
    } catch (error) {
      report(flags, error);
    }
  });
}

export function detectionsCommand(): Command {
  return new Command("detections")
    .description("what the edge's detectors tripped on: list, release, approve, decoy hashes")
    .addHelpText(
      "after",
      '\nExamples:\n  $ containment detections list\n  $ containment detections release <id> --reason "false positive: partner\'s sync job"',
    )
    .addCommand(listCommand())
    .addCommand(releaseCommand())
    .addCommand(approveCommand())
    .addCommand(decoyHashCommand());
}
