import { readFileSync, writeFileSync } from "node:fs";
import { Command } from "commander";
import { applyReanchor, planReanchor } from "../../ops/actions/reanchor.js";
import {
  type AuditRecord,
  generateSigningKey,
  isAnchor,
  type KeySet,
  readAnchor,
  readAudit,
  readForVerify,
  syncJournal,
  type TailEntry,
  verifyAudit,
} from "../../ops/audit/index.js";
import { EXIT, OpsError, usageError } from "../../ops/errors.js";
import { fail } from "../errors.js";
import { action, emit, withOpsOptions } from "../ops.js";
import { confirm } from "../prompt.js";

function readJsonl(file: string): AuditRecord[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw usageError(`cannot read ${file}: give a file written by \`containment audit export\``);
  }
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, index) => {
      try {
        return JSON.parse(line) as AuditRecord;
      } catch {
        throw usageError(`${file}:${index + 1}: not a JSON line`);
      }
    });
}

function readKeys(file: string | undefined): KeySet | undefined {
  if (file === undefined) return undefined;
  try {
    const keys = JSON.parse(readFileSync(file, "utf8")) as KeySet;
    if (!Array.isArray(keys.keys)) throw new Error("no keys array");
    return keys;
  } catch (error) {
    throw usageError(
      `${file} must be a JWKS ({"keys":[…]}) of the responders' Ed25519 public keys (${(error as Error).message})`,
    );
  }
}

function logCommand(): Command {
  const command = new Command("log")
    .description("print the audit trail, oldest first")
    .option("--incident <id>", "only this incident's entries")
    .addHelpText("after", "\nExample:\n  $ containment audit log --incident INC-2041");
  return withOpsOptions(command).action(
    action(async ({ ctx }, flags) => {
      const { incident } = command.opts() as { incident?: string };
      const records = await readAudit(ctx.audit, { incident });
      emit(
        flags,
        { entries: records },
        records.length === 0
          ? ["no audit entries"]
          : records.map(({ entry: e }) =>
              `#${e.seq} ${e.ts} ${e.phase.padEnd(6)} ${e.action} ${e.key ?? ""} by ${e.actor.name}${e.claimedActor ? ` (says ${e.claimedActor})` : ""} ${e.incident ?? ""} ${e.outcome ?? ""} ${e.detail ?? ""}${e.journaled ? " [journaled]" : ""}`.replace(
                /\s+$/,
                "",
              ),
            ),
      );
      return 0;
    }),
  );
}

function exportCommand(): Command {
  const command = new Command("export")
    .description("write the whole chain as JSON lines (for auditors and `audit verify --file`)")
    .requiredOption("--out <file>", "where to write it")
    .addHelpText("after", "\nExample:\n  $ containment audit export --out audit-INC-2041.jsonl");
  return withOpsOptions(command).action(
    action(async ({ ctx }, flags) => {
      const { out } = command.opts() as { out: string };
      const records = await readAudit(ctx.audit);
      writeFileSync(out, records.map((r) => JSON.stringify(r)).join("\n") + (records.length ? "\n" : ""), {
        mode: 0o600,
      });
      emit(flags, { file: out, count: records.length }, [`wrote ${records.length} entries to ${out}`]);
      return 0;
    }),
  );
}

function tailLine(entry: TailEntry): string {
  return `  #${entry.seq} ${entry.ts} ${entry.phase} ${entry.action} ${entry.key ?? ""} by ${entry.actor}${entry.outcome ? ` ${entry.outcome}` : ""}`;
}

function verifyCommand(): Command {
  const command = new Command("verify")
    .description(
      "check the chain: hashes, links, sequence, the Edge Config anchor and what follows it, and signatures with --keys",
    )
    .option("--file <file>", "verify an export instead of the live chain")
    .option("--keys <file>", "JWKS of the responders' public keys: every entry must be signed by one")
    .option(
      "--allow-unanchored",
      "pass a chain that has no Edge Config anchor (checks hashes, links and signatures alone)",
    )
    .addHelpText(
      "after",
      "\nExits 0 when the chain verifies, 9 when it does but entries wait in this machine's journal\n(run `containment audit sync`), 8 when it does not.\n\nExample:\n  $ containment audit verify --keys responders.jwks.json",
    );
  return withOpsOptions(command).action(
    action(async ({ ctx }, flags) => {
      const opts = command.opts() as { file?: string; keys?: string; allowUnanchored?: boolean };
      let records: AuditRecord[];
      let anchor: Awaited<ReturnType<typeof readForVerify>>["anchor"];
      if (opts.file === undefined) ({ records, anchor } = await readForVerify(ctx.audit, ctx.api));
      else {
        records = readJsonl(opts.file);
        anchor = await readAnchor(ctx.api).catch(() => undefined);
      }
      const result = await verifyAudit(records, {
        anchor,
        keys: readKeys(opts.keys),
        allowUnanchored: opts.allowUnanchored === true,
      });
      const pending = opts.file === undefined ? ((await ctx.audit.journal?.list()) ?? []) : [];
      const status = !result.ok ? "broken" : pending.length > 0 ? "journaled" : "verified";
      const where = isAnchor(anchor)
        ? `, anchored at #${anchor.seq}${result.unanchored ? ` (${result.unanchored} after it: within one change)` : ""}`
        : ", not anchored (--allow-unanchored)";
      const signatures =
        result.signed !== undefined
          ? `, ${result.signed} signed`
          : result.carrySignature > 0
            ? `, ${result.carrySignature} carry signatures not checked (give --keys)`
            : ", unsigned";
      const human =
        status === "broken"
          ? [`BROKEN: ${result.firstBreak?.reason}`, ...result.tail.map(tailLine)]
          : [
              `${status === "verified" ? "verified" : "verified in Redis"}: ${result.count} entries, head ${result.head || "(empty)"}${result.count === 0 ? "" : where}${signatures}`,
              ...result.tail.map(tailLine),
              ...(status === "journaled"
                ? [
                    `JOURNALED, NOT SYNCED: ${pending.length} entries wait in ${ctx.audit.journal?.location}: run \`containment audit sync\``,
                  ]
                : []),
            ];
      emit(
        flags,
        {
          ...result,
          ok: result.ok,
          status,
          anchorState: result.anchor,
          journaled: pending.length,
          anchor: anchor === undefined ? null : anchor,
        },
        human,
      );
      if (!result.ok && !flags.json)
        console.error(`edge-containment: the audit trail does not verify: ${result.firstBreak?.reason}`);
      return status === "broken" ? EXIT.tampered : status === "journaled" ? EXIT.journaled : EXIT.ok;
    }),
  );
}

function anchorCommand(): Command {
  const command = new Command("anchor")
    .description(
      "move the Edge Config anchor to the chain's head after you reviewed the entries after it (audited)",
    )
    .option("--keys <file>", "JWKS of the responders' public keys: every entry must be signed by one")
    .option("--reason <text>", "why (recorded in the audit trail)")
    .option("-y, --yes", "do not ask for confirmation")
    .addHelpText(
      "after",
      '\nRun it when `audit verify` says more entries follow the anchor than one change leaves, and\n`audit log` shows they are legitimate. A chain that does not verify otherwise is not re-anchored.\n\nExample:\n  $ containment audit anchor --reason "anchor write failed during INC-2041" --yes',
    );
  return withOpsOptions(command).action(
    action(async ({ ctx }, flags) => {
      const opts = command.opts() as { keys?: string; reason?: string; yes?: boolean };
      const plan = await planReanchor(ctx, readKeys(opts.keys));
      if (plan.broken !== undefined) {
        emit(flags, { ok: false, status: "broken", reason: plan.broken }, [`BROKEN: ${plan.broken}`]);
        if (!flags.json)
          console.error(
            `edge-containment: the chain does not verify, so it is not re-anchored: ${plan.broken}`,
          );
        return EXIT.tampered;
      }
      if (plan.tail.length === 0) {
        emit(flags, { anchoredAt: plan.head.seq, reviewed: 0 }, [
          `the anchor already names the head #${plan.head.seq}: nothing to do`,
        ]);
        return 0;
      }
      if (!flags.json) {
        const from = isAnchor(plan.anchor)
          ? `#${plan.anchor.seq}`
          : plan.anchor === null || plan.anchor === undefined
            ? "(none)"
            : "(malformed)";
        console.error(`anchor ${from} → #${plan.head.seq}; the new anchor vouches for:`);
        for (const entry of plan.tail) console.error(tailLine(entry));
      }
      await confirm(`anchor the ${plan.tail.length} entries above?`, { yes: opts.yes ?? flags.yes });
      const result = await applyReanchor(ctx, plan, opts.reason ?? null);
      for (const line of result.warnings) console.error(line);
      emit(flags, { ...result }, [
        `anchored at #${result.anchoredAt} after review of ${result.reviewed} entries`,
      ]);
      return 0;
    }),
  );
}

function syncCommand(): Command {
  const command = new Command("sync")
    .description(
      "append entries journaled while Redis was unreachable (original times kept, marked journaled)",
    )
    .option("-y, --yes", "do not ask for confirmation (accepted on every command that changes something)")
    .addHelpText("after", "\nExample:\n  $ containment audit sync");
  return withOpsOptions(command).action(
    action(async ({ ctx }, flags) => {
      if (ctx.redis === undefined)
        throw new OpsError(
          "ERR_CONFIG",
          "audit sync needs Redis: set UPSTASH_REDIS_REST_URL/TOKEN (or --redis)",
        );
      const result = await syncJournal(ctx.audit);
      emit(flags, { ...result }, [
        `synced ${result.synced} journaled entries (${result.skipped} were already in the chain)`,
      ]);
      return 0;
    }),
  );
}

function keygenCommand(): Command {
  const command = new Command("keygen")
    .description("create an Ed25519 key pair for signing audit entries")
    .requiredOption("--kid <name>", "key id, e.g. your name")
    .requiredOption("--out <file>", "private JWK file (keep it secret; pass it as --sign-key)")
    .requiredOption("--public <file>", "public JWKS file (share it; pass it to audit verify --keys)")
    .addHelpText(
      "after",
      "\nExample:\n  $ containment audit keygen --kid alice --out ~/.containment/alice.jwk --public alice.jwks.json",
    );
  return command.action(async (opts: { kid: string; out: string; public: string }) => {
    const { privateJwk, publicJwks } = await generateSigningKey(opts.kid);
    try {
      // Never over an existing private key: it may be the one that signed the chain so far.
      writeFileSync(opts.out, `${JSON.stringify(privateJwk)}\n`, { mode: 0o600, flag: "wx" });
      writeFileSync(opts.public, `${JSON.stringify(publicJwks, null, 2)}\n`);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      fail(
        usageError(
          code === "EEXIST"
            ? `${opts.out} exists already: keygen never overwrites a key; pick another --out`
            : `cannot write the key files (${code ?? "error"}): check --out and --public`,
        ),
      );
    }
    console.log(`wrote ${opts.out} (private) and ${opts.public} (public)`);
  });
}

export function auditCommand(): Command {
  return new Command("audit")
    .description("the tamper-evident audit trail of every change")
    .addHelpText(
      "after",
      "\nExamples:\n  $ containment audit verify\n  $ containment audit export --out INC-2041-audit.jsonl",
    )
    .addCommand(logCommand())
    .addCommand(exportCommand())
    .addCommand(verifyCommand())
    .addCommand(anchorCommand())
    .addCommand(syncCommand())
    .addCommand(keygenCommand());
}
