/**
 * `containment incident open|close|list`: the incident record whose discovery time starts the
 * notification clocks, audited like every change. `close` also writes the evidence bundle.
 */
import { join } from "node:path";
import { Command, Option } from "commander";
import { parseDuration } from "../../core/duration.js";
import { errorText } from "../../core/errors.js";
import type { Json } from "../../model/json.js";
import { type AppendResult, appendAudit, appendWarnings } from "../../ops/audit/index.js";
import { configError, describeFailure, failureCause, usageError } from "../../ops/errors.js";
import { closeIncident, listIncidents, type OpenIncidentInput, openIncident } from "../../ops/incidents.js";
import {
  GDPR_ROLES,
  type GdprRole,
  HIPAA_ROLES,
  type HipaaRole,
  isoSeconds,
} from "../../ops/report/clocks.js";
import { action, emit, type Opened, withOpsOptions } from "../ops.js";
import { parseTime, readIncidentDefaults } from "../report-inputs.js";
import { auditNote, writeAction } from "../written.js";
import { exportEvidence } from "./evidence.js";

interface OpenFlags {
  title: string;
  discovered?: string;
  data?: string;
  hipaaRole?: HipaaRole;
  gdprRole?: GdprRole;
  baaTerm?: string;
  dpaTerm?: string;
  individuals?: string;
  maxStateResidents?: string;
  lookback?: string;
}

function count(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text)) throw usageError(`${flag} must be a whole number`);
  return Number(text);
}

function openInput(id: string, flags: OpenFlags, opened: Opened): OpenIncidentInput {
  const defaults = readIncidentDefaults(opened.config.cwd);
  const lookbackMs = flags.lookback === undefined ? undefined : parseDuration(flags.lookback);
  if (flags.lookback !== undefined && lookbackMs === undefined)
    throw usageError("--lookback must be a duration like 24h");
  return {
    id,
    title: flags.title,
    discovered:
      flags.discovered === undefined
        ? undefined
        : parseTime("--discovered", flags.discovered, opened.ctx.now()),
    dataClasses:
      flags.data === undefined
        ? defaults.dataClasses
        : flags.data
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
    hipaaRole: flags.hipaaRole ?? (defaults.hipaaRole as HipaaRole | undefined),
    gdprRole: flags.gdprRole ?? (defaults.gdprRole as GdprRole | undefined),
    baaTerm: flags.baaTerm ?? defaults.baaTerm,
    dpaTerm: flags.dpaTerm ?? defaults.dpaTerm,
    individuals: count("--individuals", flags.individuals),
    maxStateResidents: count("--max-state-residents", flags.maxStateResidents),
    lookbackMs,
  };
}

/**
 * Runs `change` between an audited intent and result (the result says whether it failed). Once
 * `change` succeeded nothing here throws: the answer says whether an entry went to the journal.
 */
async function audited<T>(
  opened: Opened,
  draft: { action: string; incident: string; reason: string | null; after: Json },
  change: () => Promise<T>,
): Promise<{ value: T; journaled: boolean; warnings: string[] }> {
  const { ctx } = opened;
  const base = {
    ...draft,
    actor: await ctx.actor(),
    claimedActor: ctx.config.actorClaim ?? null,
    key: `incident:${draft.incident}`,
    before: null,
  };
  const warnings: string[] = [];
  const note = (entry: AppendResult, where: string) => {
    warnings.push(...appendWarnings(ctx.audit, entry, where));
  };
  const intent = await appendAudit(ctx.audit, { ...base, phase: "intent" });
  note(intent, "intent");
  let value: T;
  try {
    value = await change();
  } catch (error) {
    const failed = await appendAudit(ctx.audit, {
      ...base,
      phase: "result",
      outcome: "failed",
      detail: errorText(error).slice(0, 300),
    }).catch(() => undefined);
    if (failed !== undefined) note(failed, "result");
    for (const line of warnings) ctx.warn(line);
    throw error;
  }
  let journaled = intent.journaled;
  try {
    const result = await appendAudit(ctx.audit, {
      ...base,
      phase: "result",
      outcome: "ok",
      after: JSON.parse(JSON.stringify(value)) as Json,
    });
    note(result, "result");
    journaled ||= result.journaled;
  } catch (error) {
    journaled = true;
    warnings.push(
      `AUDIT ENTRY NOT RECORDED: neither Redis nor the journal took the result entry (${failureCause(error)}); note it in the incident's record`,
    );
  }
  return { value, journaled, warnings };
}

function requireRedis(opened: Opened) {
  const redis = opened.ctx.redis;
  if (redis === undefined)
    throw configError(
      "incidents live in Redis: set UPSTASH_REDIS_REST_URL/TOKEN or --redis (or use --local)",
    );
  return { client: redis, prefix: opened.config.prefix, now: opened.ctx.now };
}

function openCommand(): Command {
  return withOpsOptions(
    new Command("open")
      .description("open an incident; its discovery time starts the notification clocks of the report")
      .argument("<id>", "incident id, e.g. INC-2041 (kill switches reference it)")
      .requiredOption("--title <text>", "what happened, in a few words")
      .option(
        "--discovered <time>",
        "when it was discovered (ISO 8601 with zone, or a duration ago like 40m); default now",
      )
      .option("--data <classes>", "data classes involved, comma-separated: phi,pii,payment")
      .addOption(
        new Option("--hipaa-role <role>", "your HIPAA role (default from containment.json)").choices(
          HIPAA_ROLES,
        ),
      )
      .addOption(
        new Option("--gdpr-role <role>", "your GDPR role (default from containment.json)").choices(
          GDPR_ROLES,
        ),
      )
      .option("--baa-term <duration>", "business associate agreement's notice term, e.g. 10d")
      .option("--dpa-term <duration>", "data processing agreement's notice term, e.g. 24h")
      .option("--individuals <n>", "affected individuals, once known (never derived from request counts)")
      .option("--max-state-residents <n>", "affected residents of the most affected State (HIPAA §164.406)")
      .option("--lookback <duration>", "mirror evidence kept from before discovery", "24h")
      .option("-y, --yes", "do not ask for confirmation (accepted on every command that changes something)")
      .addHelpText(
        "after",
        '\nExample:\n  containment incident open INC-2041 --title "Patient exports of acme" --discovered 2026-12-01T21:40:00Z --data phi --hipaa-role business-associate --gdpr-role processor --dpa-term 24h',
      )
      .action(
        writeAction(async (opened, flags, out, id: string) => {
          const input = openInput(id, flags as unknown as OpenFlags, opened);
          const incidents = requireRedis(opened);
          const actor = (await opened.ctx.actor()).name;
          let snapshotError: unknown;
          const opening = await audited(
            opened,
            { action: "incident-open", incident: id, reason: input.title, after: null },
            () =>
              openIncident(
                incidents,
                { ...input, actor },
                { onSnapshotError: (error) => (snapshotError = error) },
              ),
          );
          const incident = opening.value;
          out.wrote(
            [
              `opened ${incident.id}: ${incident.title} (recorded in Redis); ${opening.journaled ? auditNote({ journaled: true }) : "audited"}`,
              `discovered ${isoSeconds(incident.discovered)}; notification clocks run from this time (see containment report --incident ${incident.id})`,
            ],
            { incident },
            { warnings: opening.warnings, journaled: opening.journaled },
          );
          if (snapshotError !== undefined)
            out.warn(
              `warning: the look-back evidence was not copied (${describeFailure(snapshotError)}): \`containment report\` or \`evidence export\` copies it once Redis answers`,
              "incomplete",
            );
        }),
      ),
  );
}

function closeCommand(): Command {
  return withOpsOptions(
    new Command("close")
      .description("close an incident and write its evidence bundle")
      .argument("<id>", "incident id")
      .option("--out <dir>", "where the evidence bundle goes (default .containment/evidence/<id>)")
      .option("-y, --yes", "do not ask for confirmation (accepted on every command that changes something)")
      .addHelpText("after", "\nExample:\n  containment incident close INC-2041 --out evidence/INC-2041")
      .action(
        writeAction(async (opened, flags, out, id: string) => {
          const incidents = requireRedis(opened);
          const actor = (await opened.ctx.actor()).name;
          const closing = await audited(
            opened,
            { action: "incident-close", incident: id, reason: null, after: null },
            () => closeIncident(incidents, id, { actor }),
          );
          const incident = closing.value;
          out.wrote(
            [
              `closed ${id} at ${isoSeconds(incident.closed ?? opened.ctx.now())} (recorded in Redis); ${closing.journaled ? auditNote({ journaled: true }) : "audited"}`,
            ],
            { incident },
            { warnings: closing.warnings, journaled: closing.journaled },
          );
          const dir =
            (flags as { out?: string }).out ?? join(opened.config.cwd, ".containment", "evidence", id);
          try {
            const bundle = await exportEvidence(opened, id, dir);
            if (!flags.json)
              process.stdout.write(
                `evidence bundle: ${dir} (${bundle.files} files, audit head ${bundle.auditHead || "(empty)"})\n`,
              );
            out.set({ evidence: bundle });
          } catch (error) {
            out.warn(
              `warning: the evidence bundle was not written (${describeFailure(error)}): run \`containment evidence export --incident ${id}\``,
              "incomplete",
            );
          }
        }),
      ),
  );
}

function listCommand(): Command {
  return withOpsOptions(
    new Command("list")
      .description("list incidents, newest first")
      .addHelpText("after", "\nExample:\n  containment incident list --json")
      .action(
        action(async (opened, flags) => {
          const incidents = await listIncidents(requireRedis(opened));
          emit(
            flags,
            { incidents },
            incidents.length === 0
              ? ["no incidents"]
              : incidents.map(
                  (i) =>
                    `${i.id}  ${i.closed === undefined ? "open  " : "closed"}  discovered ${isoSeconds(i.discovered)}  ${i.title}`,
                ),
          );
          return 0;
        }),
      ),
  );
}

export function incidentCommand(): Command {
  return new Command("incident")
    .description("open, close and list incidents")
    .addHelpText(
      "after",
      `\nExample:\n  $ containment incident open INC-2041 --title "patient export leak" --data phi`,
    )
    .addCommand(openCommand())
    .addCommand(closeCommand())
    .addCommand(listCommand());
}
