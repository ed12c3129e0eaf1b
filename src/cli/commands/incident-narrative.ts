/**
 * `containment incident set|decide|notified|sign-off`: what a person writes into the incident report
 * (docs/report.md, the narrative and decisions), each change audited. `set --from FILE` reads the
 * same fields from a JSON incident file, so a narrative drafted in an editor goes in whole.
 */
import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { ConfigInvalid } from "../../core/errors.js";
import { usageError } from "../../ops/errors.js";
import {
  checkEdit,
  decideNotification,
  EDIT_KEYS,
  editIncident,
  type IncidentEdit,
  logNotice,
  signOffIncident,
} from "../../ops/incident-narrative.js";
import { unknownIncident } from "../../ops/incident-records.js";
import { getIncident } from "../../ops/incidents.js";
import { GDPR_ROLES, HIPAA_ROLES, isoSeconds } from "../../ops/report/clocks.js";
import type { IncidentRecord } from "../../ops/report/model.js";
import { NARRATIVE_FIELDS, REGIMES, type Regime } from "../../ops/report/narrative.js";
import { withOpsOptions } from "../ops.js";
import { confirm } from "../prompt.js";
import { parseTime } from "../report-inputs.js";
import { auditNote, writeAction } from "../written.js";
import { audited, requireRedis } from "./incident-audited.js";

type Flags = Record<string, string | undefined>;

const NUMBER_KEYS = new Set<keyof IncidentEdit>(["individuals", "records", "maxStateResidents"]);

function whole(flag: string, text: string): number {
  if (!/^\d{1,12}$/.test(text)) throw usageError(`${flag} must be a whole number`);
  return Number(text);
}

/** The incident file: a JSON object with the keys of EDIT_KEYS; a fault names its JSON path. */
function readIncidentFile(file: string, now: number): IncidentEdit {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw usageError(
      `--from ${file} must be a JSON file: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw usageError(`--from ${file}: $ must be an object of incident fields`);
  const edit: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!(key in EDIT_KEYS))
      throw usageError(
        `--from ${file}: $.${key} is not a field of an incident (see containment incident set --help)`,
      );
    edit[key] =
      key === "discovered" && typeof value === "string" ? parseTime(`$.discovered`, value, now) : value;
  }
  return edit as IncidentEdit;
}

function editOf(flags: Flags, now: number): IncidentEdit {
  const edit: Record<string, unknown> = {};
  const from = flags.from;
  if (from !== undefined) Object.assign(edit, readIncidentFile(from, now));
  for (const [key, flag] of Object.entries(EDIT_KEYS) as Array<[keyof IncidentEdit, string]>) {
    const text = flags[key];
    if (text === undefined) continue;
    if (key === "discovered") edit[key] = parseTime(flag, text, now);
    else if (key === "dataClasses")
      edit[key] = text
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    else if (NUMBER_KEYS.has(key)) edit[key] = whole(flag, text);
    else edit[key] = text;
  }
  const name = (key: keyof IncidentEdit) =>
    from !== undefined && flags[key] === undefined ? `--from ${from}: $.${key}` : EDIT_KEYS[key];
  try {
    checkEdit(edit as IncidentEdit, now, name);
  } catch (error) {
    throw error instanceof ConfigInvalid
      ? usageError(error.message.replace(/^edge-containment: /, ""))
      : error;
  }
  return edit as IncidentEdit;
}

/**
 * An unknown incident ends with notFound before anything is audited: nothing was changed, so the
 * chain gets no intent for it (docs/cli.md, exit codes).
 */
async function requireIncident(incidents: ReturnType<typeof requireRedis>, id: string): Promise<void> {
  if ((await getIncident(incidents, id)) === undefined) throw unknownIncident(id);
}

function versionNote(incident: IncidentRecord, before: IncidentRecord | undefined): string {
  const version = incident.version ?? 1;
  if (before !== undefined && (before.version ?? 1) !== version)
    return `version ${version}, replacing version ${before.version ?? 1}, which was signed off (its sign-off stays with the content it signed)`;
  return `version ${version}`;
}

export function setCommand(): Command {
  const command = new Command("set")
    .description(
      "record the incident's narrative, discovery decision, affected counts and regulatory content (each missing one is a gap in the report)",
    )
    .argument("<id>", "incident id")
    .option(
      "--from <file>",
      'a JSON incident file with any of these fields, e.g. {"summary": "…", "rootCause": "…"}',
    );
  for (const f of NARRATIVE_FIELDS) command.option(`${f.flag} <text>`, f.label);
  command
    .option(
      "--discovered <time>",
      "the discovery time you decide on (ISO 8601 or a duration ago); needs --discovery-reason",
    )
    .option("--discovery-reason <text>", "why that discovery time (recorded with who chose it)")
    .option("--individuals <n>", "individuals affected, an estimate (never derived from request counts)")
    .option("--individuals-basis <text>", "how the individuals estimate was made")
    .option("--records <n>", "records affected, an estimate")
    .option("--records-basis <text>", "how the records estimate was made")
    .option("--max-state-residents <n>", "affected residents of the most affected State (HIPAA §164.406)")
    .option("--title <text>", "what happened, in a few words")
    .option("--data <classes>", "data classes involved, comma-separated: phi,pii,payment")
    .addOption(new Option("--hipaa-role <role>", "your HIPAA role").choices(HIPAA_ROLES))
    .addOption(new Option("--gdpr-role <role>", "your GDPR role").choices(GDPR_ROLES))
    .option("--baa-term <duration>", "business associate agreement's notice term, e.g. 10d")
    .option("--dpa-term <duration>", "data processing agreement's notice term, e.g. 24h")
    .option("-y, --yes", "do not ask for confirmation (accepted on every command that changes something)")
    .addHelpText(
      "after",
      '\nExamples:\n  containment incident set INC-2041 --summary "Exports of three tenants were readable by any user" --root-cause "tenant check missing on /export"\n  containment incident set INC-2041 --individuals 812 --individuals-basis "distinct patient ids in the export logs"\n  containment incident set INC-2041 --from incident-INC-2041.json',
    );
  return withOpsOptions(command).action(
    writeAction(async (opened, globalFlags, out, id: string) => {
      const flags = globalFlags as unknown as Flags;
      const edit = editOf({ ...flags, dataClasses: flags.data }, opened.ctx.now());
      const incidents = requireRedis(opened);
      if (Object.values(edit).every((v) => v === undefined))
        throw usageError("nothing to set: give at least one field (see containment incident set --help)");
      const before = await getIncident(incidents, id);
      if (before === undefined) throw unknownIncident(id);
      const actor = (await opened.ctx.actor()).name;
      const fields = Object.keys(edit).filter((k) => edit[k as keyof IncidentEdit] !== undefined);
      let edited: IncidentRecord | undefined;
      const change = await audited(
        opened,
        { action: "incident-set", incident: id, reason: `set ${fields.join(", ")}`, after: null },
        async () => {
          edited = await editIncident(incidents, id, edit, actor);
          // The values too: who changed the discovery time, from what to what, is evidence.
          return { set: edit, version: edited.version ?? 1, replaces: edited.replaces ?? null };
        },
      );
      const incident = edited as IncidentRecord;
      out.wrote(
        [
          `set ${fields.map((k) => EDIT_KEYS[k as keyof IncidentEdit]).join(", ")} on ${id} (${versionNote(incident, before)}); ${change.journaled ? auditNote({ journaled: true }) : "audited"}`,
          `the report lists what is still missing: containment report --incident ${id}`,
        ],
        { incident: id, fields, version: incident.version ?? 1, replaces: incident.replaces ?? null },
        { warnings: change.warnings, journaled: change.journaled },
      );
    }),
  );
}

export function decideCommand(): Command {
  return withOpsOptions(
    new Command("decide")
      .description(
        "record a notification decision under one regime: who decided (you), when, notify or not, and why",
      )
      .argument("<id>", "incident id")
      .addOption(
        new Option("--regime <regime>", "the regime decided on").choices(REGIMES).makeOptionMandatory(),
      )
      .option("--notify", "notification is owed and will be made")
      .option("--no-notify", "no notification is owed (say why in --reason)")
      .requiredOption("--reason <text>", "why: the risk assessment's conclusion, counsel's advice")
      .option("--at <time>", "when it was decided (default now)")
      .option("-y, --yes", "do not ask for confirmation (accepted on every command that changes something)")
      .addHelpText(
        "after",
        '\nExample:\n  containment incident decide INC-2041 --regime hipaa --notify --reason "low probability of compromise not shown: exports were downloaded"',
      )
      .action(
        writeAction(async (opened, globalFlags, out, id: string) => {
          const flags = globalFlags as unknown as {
            regime: Regime;
            notify?: boolean;
            reason: string;
            at?: string;
          };
          if (flags.notify === undefined) throw usageError("say --notify or --no-notify");
          const now = opened.ctx.now();
          const decidedAt = flags.at === undefined ? now : parseTime("--at", flags.at, now);
          const incidents = requireRedis(opened);
          await requireIncident(incidents, id);
          const decidedBy = (await opened.ctx.actor()).name;
          const decision = {
            regime: flags.regime,
            notify: flags.notify,
            decidedBy,
            decidedAt,
            reason: flags.reason,
          };
          const change = await audited(
            opened,
            { action: "incident-decide", incident: id, reason: flags.reason, after: null },
            async () => {
              await decideNotification(incidents, id, decision);
              return { ...decision };
            },
          );
          out.wrote(
            [
              `recorded for ${id}: ${flags.regime} ${flags.notify ? "notify" : "do not notify"}, decided by ${decidedBy} at ${isoSeconds(decidedAt)}; ${change.journaled ? auditNote({ journaled: true }) : "audited"}`,
            ],
            { incident: id, decision },
            { warnings: change.warnings, journaled: change.journaled },
          );
        }),
      ),
  );
}

export function notifiedCommand(): Command {
  return withOpsOptions(
    new Command("notified")
      .description("log who was paged or notified, how and when (the report's notification log)")
      .argument("<id>", "incident id")
      .requiredOption(
        "--to <who>",
        "who: a role or organisation, e.g. on-call, DPO, Acme Health (covered entity)",
      )
      .requiredOption("--via <channel>", "how: pager, email, phone, portal")
      .option("--at <time>", "when (default now)")
      .option("--note <text>", "what was said or asked")
      .option("-y, --yes", "do not ask for confirmation (accepted on every command that changes something)")
      .addHelpText(
        "after",
        '\nExample:\n  containment incident notified INC-2041 --to "Acme Health privacy officer" --via email --at 2026-12-02T09:00:00Z',
      )
      .action(
        writeAction(async (opened, globalFlags, out, id: string) => {
          const flags = globalFlags as unknown as { to: string; via: string; at?: string; note?: string };
          const now = opened.ctx.now();
          const at = flags.at === undefined ? now : parseTime("--at", flags.at, now);
          const incidents = requireRedis(opened);
          await requireIncident(incidents, id);
          const by = (await opened.ctx.actor()).name;
          const notice = {
            at,
            to: flags.to,
            via: flags.via,
            by,
            ...(flags.note ? { note: flags.note } : {}),
          };
          const change = await audited(
            opened,
            { action: "incident-notified", incident: id, reason: flags.note ?? null, after: null },
            async () => {
              await logNotice(incidents, id, notice);
              return { ...notice };
            },
          );
          out.wrote(
            [
              `logged for ${id}: ${flags.to} notified via ${flags.via} at ${isoSeconds(at)}; ${change.journaled ? auditNote({ journaled: true }) : "audited"}`,
            ],
            { incident: id, notice },
            { warnings: change.warnings, journaled: change.journaled },
          );
        }),
      ),
  );
}

export function signOffCommand(): Command {
  return withOpsOptions(
    new Command("sign-off")
      .description(
        "sign off the incident record's current version with your signing key (--sign-key); a later edit starts a new version",
      )
      .argument("<id>", "incident id")
      .option("--role <role>", "in what role you approve", "approver")
      .option("-y, --yes", "do not ask for confirmation")
      .addHelpText(
        "after",
        '\nExample:\n  containment incident sign-off INC-2041 --role "privacy officer" --sign-key me.jwk --yes',
      )
      .action(
        writeAction(async (opened, globalFlags, out, id: string) => {
          const flags = globalFlags as unknown as { role: string; yes?: boolean };
          const signer = opened.ctx.audit.signer;
          if (signer === undefined)
            throw usageError(
              "a sign-off is signed with your key: pass --sign-key FILE (containment audit keygen makes one)",
            );
          const incidents = requireRedis(opened);
          const current = await getIncident(incidents, id);
          if (current === undefined) throw unknownIncident(id);
          const approver = (await opened.ctx.actor()).name;
          await confirm(`sign off version ${current.version ?? 1} of ${id} as ${approver} (${flags.role})?`, {
            yes: flags.yes,
          });
          const change = await audited(
            opened,
            { action: "incident-sign-off", incident: id, reason: flags.role, after: null },
            async () => {
              const { signoff } = await signOffIncident(incidents, id, signer, {
                approver,
                role: flags.role,
              });
              const { content: _content, ...shown } = signoff;
              return shown;
            },
          );
          const s = change.value;
          out.wrote(
            [
              `signed off version ${s.version} of ${id} as ${approver} (${s.role}) at ${isoSeconds(s.signedAt)} with key ${s.kid}; ${change.journaled ? auditNote({ journaled: true }) : "audited"}`,
              `content SHA-256 ${s.sha256}; an edit from now on starts version ${s.version + 1}`,
            ],
            { incident: id, signoff: s },
            { warnings: change.warnings, journaled: change.journaled },
          );
        }),
      ),
  );
}
