/**
 * `containment incident open|close|list`: the incident record whose discovery time starts the
 * notification clocks, audited like every change. `close` also writes the evidence bundle.
 */
import { join } from "node:path";
import { Command, Option } from "commander";
import { parseDuration } from "../../core/duration.js";
import { readStore } from "../../ops/actions/edge-config-snapshot.js";
import { inForceOf } from "../../ops/actions/incident-switches.js";
import { enterDetections, readDetection } from "../../ops/detections.js";
import { describeFailure, OpsError, usageError } from "../../ops/errors.js";
import { closeIncident, listIncidents, type OpenIncidentInput, openIncident } from "../../ops/incidents.js";
import {
  GDPR_ROLES,
  type GdprRole,
  HIPAA_ROLES,
  type HipaaRole,
  isoSeconds,
} from "../../ops/report/clocks.js";
import type { IncidentRecord } from "../../ops/report/model.js";
import { action, auditEvidenceVersion, emit, type Opened, withOpsOptions } from "../ops.js";
import { parseTime, readIncidentDefaults } from "../report-inputs.js";
import { auditNote, writeAction } from "../written.js";
import { exportEvidence } from "./evidence.js";
import { audited, requireRedis } from "./incident-audited.js";
import { decideCommand, notifiedCommand, setCommand, signOffCommand } from "./incident-narrative.js";

interface OpenFlags {
  title?: string;
  fromDetection?: string;
  discovered?: string;
  discoveryReason?: string;
  data?: string;
  hipaaRole?: HipaaRole;
  gdprRole?: GdprRole;
  baaTerm?: string;
  dpaTerm?: string;
  individuals?: string;
  maxStateResidents?: string;
  lookback?: string;
  scopeRoute?: string[];
  scopeTenant?: string;
  scopeMethod?: string;
}

const commaList = (text: string | undefined): string[] | undefined =>
  text
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);

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
    title: flags.title ?? "",
    discovered:
      flags.discovered === undefined
        ? undefined
        : parseTime("--discovered", flags.discovered, opened.ctx.now()),
    discoveryReason: flags.discoveryReason,
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
    scopeRoutes: flags.scopeRoute,
    scopeTenants: commaList(flags.scopeTenant),
    scopeMethods: commaList(flags.scopeMethod)?.map((m) => m.toUpperCase()),
    lookbackMs,
  };
}

/** What the dashboard's verdict will be measured against (docs/dashboard.md, the verdict). */
function scopeLine(incident: IncidentRecord): string {
  if (!incident.scopeRoutes)
    return "no exposure scope declared (--scope-route): the dashboard cannot say whether the leak has stopped";
  const tenants = incident.scopeTenants?.join(", ") ?? "every tenant";
  const methods = incident.scopeMethods?.join(", ") ?? "every method";
  return `exposure scope: ${incident.scopeRoutes.join(", ")}; ${tenants}; ${methods}`;
}

function openCommand(): Command {
  return withOpsOptions(
    new Command("open")
      .description("open an incident; its discovery time starts the notification clocks of the report")
      .argument("<id>", "incident id, e.g. INC-2041 (kill switches reference it)")
      .option("--title <text>", "what happened, in a few words (required unless --from-detection)")
      .option(
        "--from-detection <id>",
        "open it from a detection (`detections list`): entered into the audit chain, named in the incident's audit entry",
      )
      .option(
        "--discovered <time>",
        "when it was discovered (ISO 8601 with zone, or a duration ago like 40m); default now",
      )
      .option(
        "--discovery-reason <text>",
        "why this discovery time (recorded with who chose it; the report offers the earliest anomalous evidence)",
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
      .option(
        "--scope-route <pattern>",
        "exposure scope: a path pattern the incident is about (repeat for several); the dashboard's verdict is measured against it",
        (value: string, previous: string[] = []) => [...previous, value],
      )
      .option("--scope-tenant <ids>", "exposure scope: tenants, comma-separated (default: every tenant)")
      .option("--scope-method <methods>", "exposure scope: methods, comma-separated (default: every method)")
      .option("-y, --yes", "do not ask for confirmation (accepted on every command that changes something)")
      .addHelpText(
        "after",
        '\nExample:\n  containment incident open INC-2041 --title "Patient exports of acme" --discovered 2026-12-01T21:40:00Z --data phi --scope-route "/api/:tenant/patients/**" --scope-tenant acme --hipaa-role business-associate --gdpr-role processor --dpa-term 24h',
      )
      .action(
        writeAction(async (opened, flags, out, id: string) => {
          const given = flags as unknown as OpenFlags;
          const detection =
            given.fromDetection === undefined
              ? undefined
              : await readDetection(opened.ctx, given.fromDetection);
          if (given.title === undefined && detection === undefined)
            throw usageError("--title is required (or --from-detection <id>, whose detection names it)");
          const input = openInput(
            id,
            {
              ...given,
              title: given.title ?? `${detection?.type} detection ${detection?.id} on ${detection?.route}`,
            },
            opened,
          );
          const incidents = requireRedis(opened);
          const actor = (await opened.ctx.actor()).name;
          if (detection) {
            const entered = await enterDetections(opened.ctx, [detection]);
            for (const line of entered.warnings) opened.ctx.warn(line);
          }
          let snapshotError: unknown;
          const opening = await audited(
            opened,
            {
              action: "incident-open",
              incident: id,
              reason: input.title,
              after: detection
                ? { fromDetection: detection.id, detectedAt: new Date(detection.at).toISOString() }
                : null,
            },
            () =>
              openIncident(
                incidents,
                { ...input, actor },
                {
                  onSnapshotError: (error) => (snapshotError = error),
                  onVersion: auditEvidenceVersion(opened.ctx),
                },
              ),
          );
          const incident = opening.value;
          out.wrote(
            [
              `opened ${incident.id}: ${incident.title} (recorded in Redis); ${opening.journaled ? auditNote({ journaled: true }) : "audited"}`,
              `discovered ${isoSeconds(incident.discovered)}; notification clocks run from this time (see containment report --incident ${incident.id})`,
              ...(detection
                ? [
                    `from detection ${detection.id}, which tripped at ${isoSeconds(detection.at)}${given.discovered === undefined ? `: if that is when the leak was discovered, a person decides so with --discovered ${isoSeconds(detection.at)}` : ""}`,
                  ]
                : []),
              scopeLine(incident),
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
      .option(
        "--leave-switches",
        "close even though kill switches of this incident are still in force (they stay in force)",
      )
      .option("-y, --yes", "do not ask for confirmation (accepted on every command that changes something)")
      .addHelpText("after", "\nExample:\n  containment incident close INC-2041 --out evidence/INC-2041")
      .action(
        writeAction(async (opened, flags, out, id: string) => {
          const incidents = requireRedis(opened);
          // An incident closed while its switches still block leaves blocks nobody owns: named, refused.
          let live: ReturnType<typeof inForceOf> = [];
          try {
            live = inForceOf((await readStore(opened.ctx)).items, id, opened.ctx.now());
          } catch (error) {
            out.warn(
              `warning: could not read Edge Config to check for kill switches of ${id} still in force (${describeFailure(error)}): \`containment list\` shows them`,
            );
          }
          if (live.length > 0 && !(flags as { leaveSwitches?: boolean }).leaveSwitches)
            throw new OpsError(
              "ERR_CONFLICT",
              `refused: kill switch${live.length === 1 ? "" : "es"} of ${id} still in force: ${live.map((r) => `${r.id} (${r.match})`).join(", ")}. Nothing was changed; lift them (containment lift --incident ${id}) or add --leave-switches`,
              { inForce: live.map((r) => r.id) },
            );
          if (live.length > 0)
            out.warn(
              `note: closing ${id} with kill switch${live.length === 1 ? "" : "es"} still in force: ${live.map((r) => r.id).join(", ")} (--leave-switches)`,
            );
          const actor = (await opened.ctx.actor()).name;
          const closing = await audited(
            opened,
            { action: "incident-close", incident: id, reason: null, after: null },
            () => closeIncident(incidents, id, { actor, onVersion: auditEvidenceVersion(opened.ctx) }),
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
    .description("open, close and list incidents; record their narrative, decisions and sign-off")
    .addHelpText(
      "after",
      `\nExample:\n  $ containment incident open INC-2041 --title "patient export leak" --data phi`,
    )
    .addCommand(openCommand())
    .addCommand(closeCommand())
    .addCommand(listCommand())
    .addCommand(setCommand())
    .addCommand(decideCommand())
    .addCommand(notifiedCommand())
    .addCommand(signOffCommand());
}
