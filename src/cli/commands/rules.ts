import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { Command, Option } from "commander";
import { rulesetDigest } from "../../core/digest.js";
import type { Json } from "../../model/json.js";
import {
  applyRulesPush,
  diffRules,
  planRulesPush,
  pullRules,
  pushedDigestNow,
  type RulesDiff,
} from "../../ops/actions/rules.js";
import { formatLocated, type LocatedIssue, parseRulesText } from "../../ops/actions/rules-text.js";
import { PLAN_LIMITS, type Plan } from "../../ops/config.js";
import { EXIT, OpsError, usageError } from "../../ops/errors.js";
import { action, emit, type GlobalFlags, report, withOpsOptions } from "../ops.js";
import { confirm } from "../prompt.js";
import { maybeWait, type WaitFlags, withWaitOptions } from "../wait.js";
import { auditNote, factsOf, writeAction } from "../written.js";
import { rulesTestCommand } from "./rules-test.js";

function readText(file: string): string {
  if (!existsSync(file)) throw usageError(`rules file not found: ${file}`);
  return readFileSync(file, "utf8");
}

class InvalidFile extends OpsError {
  constructor(
    file: string,
    readonly located: LocatedIssue[],
  ) {
    super(
      "ERR_USAGE",
      `${file} is not a valid rules document (${located.length} fault${located.length === 1 ? "" : "s"}, listed above)\n${formatLocated(file, located)}`,
      { issues: located },
    );
  }
}

function readDocument(file: string): Json {
  const parsed = parseRulesText(readText(file));
  if (!parsed.ok) throw new InvalidFile(file, parsed.issues);
  return parsed.document as unknown as Json;
}

/** Prints every fault (file:line:column: path: message) before the one-line summary. */
function reportInvalid(flags: GlobalFlags, error: unknown): void {
  if (error instanceof InvalidFile && !flags.json)
    for (const line of error.message.split("\n").slice(1)) console.error(line);
  report(flags, error);
}

const UNDECLARED_NOTE =
  'the document reads tenants but declares none ("tenants"): Redis records every tenant as ~undeclared, unless tenant binding verified it (docs/recorded-format.md#privacy)';

/** A document that reads a tenant (tenancy, a `:tenant` route) but lists none: no tenant is named in Redis. */
function tenantsUndeclared(document: unknown): boolean {
  const doc = document as {
    tenants?: object;
    tenancy?: unknown;
    rules: Array<{ match?: { path?: unknown } }>;
  };
  if (doc.tenants !== undefined && Object.keys(doc.tenants).length > 0) return false;
  return doc.tenancy !== undefined || JSON.stringify(doc.rules).includes(":tenant");
}

function validateCommand(): Command {
  const command = new Command("validate")
    .description(
      "validate a rules document offline: each fault with its JSON path and line:column; size against the plan",
    )
    .argument("<file>", "rules document (JSON)")
    .addOption(
      new Option("--plan <plan>", "Edge Config plan whose store limit applies")
        .choices(["hobby", "pro", "enterprise"])
        .default("pro"),
    )
    .option("--json", "print one machine-readable JSON object")
    .addHelpText("after", "\nExample:\n  $ containment rules validate rules/production.json --plan pro");
  return command.action((file: string) => {
    const flags = command.opts() as { plan: Plan; json?: boolean };
    try {
      const document = readDocument(file);
      const text = JSON.stringify(document);
      const bytes = new TextEncoder().encode(text).length;
      const limit = PLAN_LIMITS[flags.plan];
      const rules = (document as { rules: unknown[] }).rules.length;
      const undeclared = tenantsUndeclared(document);
      emit(
        flags,
        {
          file,
          rules,
          digest: rulesetDigest(document as never),
          bytes,
          limit,
          plan: flags.plan,
          ...(undeclared ? { notes: [UNDECLARED_NOTE] } : {}),
        },
        [
          `ok: ${file}: ${rules} rules, digest ${rulesetDigest(document as never)}`,
          `size: ${bytes} bytes of the ${flags.plan} plan's ${limit} byte store (${((bytes / limit) * 100).toFixed(1)}%)`,
          ...(undeclared ? [`note: ${UNDECLARED_NOTE}`] : []),
        ],
      );
      if (bytes > limit) {
        console.error(
          `edge-containment: too large: the document alone exceeds the ${flags.plan} plan's Edge Config store`,
        );
        process.exitCode = EXIT.usage;
      }
    } catch (error) {
      reportInvalid(flags, error);
    }
  });
}

function diffLines(diff: RulesDiff): string[] {
  if (diff.same) return ["no changes: the file matches what is live"];
  const show = (v: Json | undefined) => (v === undefined ? "(absent)" : JSON.stringify(v));
  return [
    ...diff.added.map((id) => `+ rule ${id}`),
    ...diff.removed.map((id) => `- rule ${id}`),
    ...diff.changed.flatMap((c) => [
      `~ rule ${c.id}`,
      ...c.fields.map((f) => `    ${f.path}: ${show(f.before)} → ${show(f.after)}`),
    ]),
    ...diff.document.map((f) => `~ ${f.path}: ${show(f.before)} → ${show(f.after)}`),
  ];
}

function diffCommand(): Command {
  const command = new Command("diff")
    .description("compare a rules file with what is live: rules added, removed, changed field by field")
    .argument("<file>", "rules document (JSON)")
    .addHelpText("after", "\nExample:\n  $ containment rules diff rules/production.json");
  withOpsOptions(command);
  return command.action(
    action(async ({ ctx }, flags, file: string) => {
      const next = readDocument(file);
      const diff = diffRules(await pullRules(ctx), next);
      emit(flags, { diff }, diffLines(diff));
      return 0;
    }),
  );
}

function pullCommand(): Command {
  const command = new Command("pull")
    .description("print (or write) the rules document live in Edge Config")
    .option("--out <file>", "write it to this file instead of stdout")
    .addHelpText("after", "\nExample:\n  $ containment rules pull --out rules/live.json");
  withOpsOptions(command);
  return command.action(
    action(async ({ ctx }, flags) => {
      const { out } = command.opts() as { out?: string };
      const live = await pullRules(ctx);
      if (live === undefined)
        throw new OpsError(
          "ERR_NOT_FOUND",
          'Edge Config has no rules document (item "containment"): push one with containment rules push FILE',
        );
      const text = `${JSON.stringify(live, null, 2)}\n`;
      if (out !== undefined) {
        writeFileSync(out, text);
        emit(flags, { file: out }, [`wrote the live rules to ${out}`]);
      } else if (flags.json) emit(flags, { document: live }, []);
      else process.stdout.write(text);
      return 0;
    }),
  );
}

interface PushFlags extends GlobalFlags, WaitFlags {
  dryRun?: boolean;
  reason?: string;
  incident?: string;
  newRoute?: boolean;
}

function pushCommand(): Command {
  const command = new Command("push")
    .description("replace the live rules document; refused before sending if the firewall would reject it")
    .argument("<file>", "rules document (JSON)")
    .option("--dry-run", "check and show the diff, send nothing")
    .option("--reason <text>", "why (recorded in the audit trail)")
    .option("--incident <id>", "incident id, if the push is part of one")
    .option(
      "--new-route",
      "allow rules on a pattern that matches no known route (Next.js manifest, recorded traffic)",
    )
    .option("-y, --yes", "do not ask for confirmation")
    .addHelpText(
      "after",
      '\nExample:\n  $ containment rules push rules/production.json --reason "tighten export limit" --wait',
    );
  withWaitOptions(withOpsOptions(command));
  return command.action(async (file: string, _opts: unknown, cmd: Command) => {
    const flags = cmd.optsWithGlobals() as PushFlags;
    let document: Json;
    try {
      document = readDocument(file);
    } catch (error) {
      reportInvalid(flags, error);
      return;
    }
    await writeAction(async ({ ctx }, _flags, out, _file: string) => {
      const plan = await planRulesPush(ctx, document, { newRoute: flags.newRoute === true });
      if (!flags.json)
        for (const line of [
          ...diffLines(plan.diff),
          `store: ${plan.size.after} of ${plan.size.limit} bytes (${plan.size.plan} plan)`,
        ])
          console.error(line);
      if (flags.dryRun) {
        out.unchanged(["dry run: nothing was sent"], { dryRun: true, diff: plan.diff, size: plan.size });
        return;
      }
      if (plan.diff.same) {
        out.unchanged(["nothing to push: the file matches what is live"], { unchanged: true });
        return;
      }
      await confirm("push these rules?", { yes: flags.yes });
      const result = await applyRulesPush(
        ctx,
        plan,
        flags.reason ?? null,
        flags.incident ?? ctx.config.incident ?? null,
      );
      out.wrote(
        [`pushed ${file} to Edge Config: ruleset digest ${result.digest}; ${auditNote(result.audit)}`],
        { action: "rules-push", ...result, diff: plan.diff },
        factsOf(result),
      );
      const wait = await maybeWait(
        ctx,
        flags,
        out,
        { kind: "digest", digest: result.digest, current: () => pushedDigestNow(ctx, plan) },
        result.writtenAt,
        null,
      );
      if (wait) out.set({ wait });
    })(file, flags, cmd);
  });
}

export function rulesCommand(): Command {
  return new Command("rules")
    .description("validate, diff, pull and push the rules document")
    .addHelpText("after", "\nExample:\n  $ containment rules diff rules/production.json")
    .addCommand(validateCommand())
    .addCommand(diffCommand())
    .addCommand(pullCommand())
    .addCommand(pushCommand())
    .addCommand(rulesTestCommand());
}
