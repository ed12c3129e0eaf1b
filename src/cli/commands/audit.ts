import { readFileSync, writeFileSync } from "node:fs";
import { Command } from "commander";
import {
  type AuditRecord,
  generateSigningKey,
  type KeySet,
  readAnchor,
  readAudit,
  syncJournal,
  verifyAudit,
} from "../../ops/audit/index.js";
import { EXIT, OpsError, usageError } from "../../ops/errors.js";
import { action, emit, withOpsOptions } from "../ops.js";

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

function verifyCommand(): Command {
  const command = new Command("verify")
    .description(
      "check the chain: hashes, links, sequence, the Edge Config anchor, and signatures with --keys",
    )
    .option("--file <file>", "verify an export instead of the live chain")
    .option("--keys <file>", "JWKS of the responders' public keys: every entry must be signed by one")
    .addHelpText("after", "\nExample:\n  $ containment audit verify --keys responders.jwks.json");
  return withOpsOptions(command).action(
    action(async ({ ctx }, flags) => {
      const opts = command.opts() as { file?: string; keys?: string };
      const records = opts.file === undefined ? await readAudit(ctx.audit) : readJsonl(opts.file);
      const anchor = await readAnchor(ctx.api).catch((error: unknown) => {
        if (opts.file !== undefined) return undefined;
        throw error;
      });
      const result = await verifyAudit(records, { anchor, keys: readKeys(opts.keys) });
      const human = result.ok
        ? [
            `ok: ${result.count} entries, head ${result.head || "(empty)"}${anchor ? `, anchored at #${anchor.seq}${result.unanchored ? ` (${result.unanchored} after it)` : ""}` : ", no anchor in Edge Config"}${result.signed !== undefined ? `, ${result.signed} signed` : ""}`,
          ]
        : [`BROKEN: ${result.firstBreak?.reason}`];
      emit(flags, { ...result, ok: result.ok, anchor: anchor ?? null }, human);
      if (!result.ok && !flags.json)
        console.error(`edge-containment: the audit trail does not verify: ${result.firstBreak?.reason}`);
      return result.ok ? 0 : EXIT.tampered;
    }),
  );
}

function syncCommand(): Command {
  const command = new Command("sync")
    .description(
      "append entries journaled while Redis was unreachable (original times kept, marked journaled)",
    )
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
    writeFileSync(opts.out, `${JSON.stringify(privateJwk)}\n`, { mode: 0o600, flag: "wx" });
    writeFileSync(opts.public, `${JSON.stringify(publicJwks, null, 2)}\n`);
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
    .addCommand(syncCommand())
    .addCommand(keygenCommand());
}
