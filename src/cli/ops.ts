/**
 * What every responder command shares: the global options (where the store and Redis are, --json,
 * --yes, --local), building the ops context from them, printing results, and ending with the
 * documented exit code. One error is one line on stderr (and `{ok:false,error}` with --json).
 */
import { readFileSync } from "node:fs";
import { type Command, Option } from "commander";
import { isContainmentError } from "../core/errors.js";
import type { ResponderRedis } from "../model/responder-redis.js";
import { appendAudit, appendWarnings, createSigner, type Signer } from "../ops/audit/index.js";
import { fileJournal } from "../ops/audit/journal-file.js";
import { loadOpsConfig, type OpsConfig, type OpsFlags } from "../ops/config.js";
import { createOpsContext, type OpsContext } from "../ops/context.js";
import { configError, failureCause, isOpsError, OpsError } from "../ops/errors.js";
import { type FastLaneAuditEntry, fastLaneSigningKey } from "../ops/fastlane.js";
import type { SnapshotOptions } from "../ops/incident-copies.js";
import { webhookNotifier } from "../ops/notify.js";
import { connectRedis } from "../ops/redis-connect.js";
import { exitCodeOf } from "./errors.js";
import { redactOutput } from "./secrets.js";

export interface GlobalFlags extends OpsFlags {
  json?: boolean;
  yes?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Adds the options every responder command takes. */
export function withOpsOptions(command: Command): Command {
  return command
    .option("--local", "use the endpoints of a running `containment dev` (.containment/dev.json here)")
    .option("--json", "print one machine-readable JSON object")
    .addOption(
      new Option("--edge-config <id>", "Edge Config id (default: env EDGE_CONFIG_ID or EDGE_CONFIG)"),
    )
    .addOption(new Option("--team <id>", "Vercel team id (default: env VERCEL_TEAM_ID)"))
    .addOption(
      new Option("--plan <plan>", "Edge Config plan for the size check").choices([
        "hobby",
        "pro",
        "enterprise",
      ]),
    )
    .addOption(
      new Option("--redis <url>", "redis://… (default: env UPSTASH_REDIS_REST_URL/TOKEN or REDIS_URL)"),
    )
    .addOption(new Option("--prefix <prefix>", "Redis key prefix (default containment:)"))
    .addOption(new Option("--actor <name>", "who you say you are (recorded beside the token's user)"))
    .addOption(new Option("--sign-key <file>", "Ed25519 private JWK that signs audit entries"))
    .addOption(
      new Option("--webhook <url>", "also notify this webhook (repeatable; slack:URL for Slack)").argParser(
        collect,
      ),
    );
}

export interface Opened {
  ctx: OpsContext;
  config: OpsConfig;
  close(): Promise<void>;
}

async function loadSigner(file: string | undefined): Promise<Signer | undefined> {
  if (file === undefined) return undefined;
  try {
    return await createSigner(JSON.parse(readFileSync(file, "utf8")));
  } catch (error) {
    throw configError(
      `cannot use the signing key ${file}: ${error instanceof Error ? error.message.replace(/^edge-containment: /, "") : String(error)}`,
    );
  }
}

async function fastLane(
  redis: ResponderRedis | undefined,
  config: OpsConfig,
): Promise<OpsContext["fastLane"]> {
  const jwk = process.env.CONTAINMENT_FASTLANE_PRIVATE_KEY;
  if (redis === undefined || jwk === undefined || jwk === "") return undefined;
  try {
    return {
      redis,
      prefix: config.prefix,
      // What the edge checks entries against: its fastLane.audience, else its Edge Config id.
      audience: config.fastLaneAudience ?? config.edgeConfig.id,
      signingKey: await fastLaneSigningKey(jwk),
    };
  } catch (error) {
    throw configError(
      `CONTAINMENT_FASTLANE_PRIVATE_KEY is not a usable key: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

async function auditFastLane(ctx: OpsContext, entry: FastLaneAuditEntry): Promise<void> {
  const appended = await appendAudit(ctx.audit, {
    actor: await ctx.actor(),
    claimedActor: ctx.config.actorClaim ?? null,
    action: entry.action,
    phase: "result",
    incident: null,
    reason: null,
    key: entry.key,
    before: entry.before,
    after: entry.after,
    outcome: "ok",
    detail: entry.action === "fastlane-publish" ? "published" : "withdrawn",
  });
  if (appended.journaled)
    ctx.warn(
      `AUDIT NOT IN REDIS: journaled in ${ctx.audit.journal?.location} (${appended.error}); run containment audit sync`,
    );
}

/**
 * Enters a new version of an incident copy in the audit chain: its content hash is what
 * `evidence verify` checks the bundle's aggregates against (docs/contracts.md, "Preserved evidence").
 */
export function auditEvidenceVersion(ctx: OpsContext): NonNullable<SnapshotOptions["onVersion"]> {
  return async (version, incident) => {
    // The copy is written whatever happens here: a version left out of the chain is what
    // `evidence verify` then names, so this warns instead of failing the command.
    try {
      const appended = await appendAudit(ctx.audit, {
        actor: await ctx.actor(),
        claimedActor: ctx.config.actorClaim ?? null,
        action: "evidence-version",
        phase: "result",
        incident,
        reason: null,
        key: `incident:${incident}:versions`,
        before: null,
        after: { ...version },
        outcome: "ok",
        detail: version.findings > 0 ? `${version.findings} tampering finding(s)` : `${version.added} added`,
      });
      for (const line of appendWarnings(ctx.audit, appended, "evidence version")) ctx.warn(line);
    } catch (error) {
      ctx.warn(
        `warning: version ${version.n} of ${incident}'s preserved evidence is not in the audit chain (${failureCause(error)}); \`evidence verify\` will name it`,
      );
    }
  };
}

export async function openOps(flags: GlobalFlags): Promise<Opened> {
  const config = loadOpsConfig({ flags, env: process.env, cwd: process.cwd() });
  // Straight to Redis (REST or TCP); nothing listens on a local port for it (docs/security.md).
  const redis = await connectRedis(config);
  const closers: Array<() => Promise<void>> = redis === undefined ? [] : [() => redis.close()];
  const warn = (line: string) => console.error(redactOutput(line, flags, config));
  const lane = await fastLane(redis, config);
  const ctx = createOpsContext(config, {
    redis,
    journal: fileJournal(config.journal),
    signer: await loadSigner(config.signKey),
    fastLane: lane,
    // Failed webhooks come back as warning lines of the change (src/cli/written.ts), not printed here.
    notify: webhookNotifier(config.webhooks),
    warn,
  });
  // Publishing to (and withdrawing from) the fast lane changes what the edge enforces: chained too.
  if (lane !== undefined) lane.audit = (entry) => auditFastLane(ctx, entry);
  return {
    ctx,
    config,
    close: async () => void (await Promise.all(closers.map((c) => c().catch(() => {})))),
  };
}

/** JSON with every string masked (masking the JSON text could break its escapes). */
function redactedJson(flags: GlobalFlags, value: unknown, config?: OpsConfig): string {
  return JSON.stringify(value, (_key, field: unknown) =>
    typeof field === "string" ? redactOutput(field, flags, config) : field,
  );
}

/** Prints a result: the JSON object with --json, else the human lines; secrets masked either way. */
export function emit(flags: GlobalFlags, json: Record<string, unknown>, human: readonly string[]): void {
  if (flags.json) process.stdout.write(`${redactedJson(flags, { ok: true, ...json })}\n`);
  else for (const line of human) process.stdout.write(`${redactOutput(line, flags)}\n`);
}

/**
 * Ends with an error: one line on stderr (the JSON too with --json, with `extra` beside `ok`), and
 * its exit code. Secrets are masked (src/core/redact.ts); `config`, when loaded, adds the ones from
 * .containment/dev.json.
 */
export function report(
  flags: GlobalFlags,
  error: unknown,
  config?: OpsConfig,
  extra: Record<string, unknown> = {},
): void {
  const known = isOpsError(error);
  const message = error instanceof Error ? error.message : String(error);
  const ours = known || isContainmentError(error) || message.startsWith("edge-containment:");
  const line = redactOutput(ours ? message : `edge-containment: unexpected error: ${message}`, flags, config);
  if (flags.json) {
    const code = known || isContainmentError(error) ? error.code : "ERR_INTERNAL";
    const body = {
      ok: false,
      ...extra,
      error: { code, message: line, ...(known ? error.details : {}) },
    };
    process.stdout.write(`${redactedJson(flags, body, config)}\n`);
  }
  console.error(line.split("\n")[0]);
  if (!ours && error instanceof Error && process.env.CONTAINMENT_DEBUG)
    console.error(redactOutput(error.stack ?? message, flags, config));
  process.exitCode = exitCodeOf(error);
}

/** Runs a command body with an opened context, closing it and mapping errors to exit codes. */
export function action<A extends unknown[]>(
  body: (opened: Opened, flags: GlobalFlags, ...args: A) => Promise<number | undefined>,
): (...args: [...A, GlobalFlags, Command]) => Promise<void> {
  return async (...all) => {
    const command = all[all.length - 1] as Command;
    const flags = command.optsWithGlobals() as GlobalFlags;
    const args = all.slice(0, -2) as unknown as A;
    let opened: Opened | undefined;
    try {
      opened = await openOps(flags);
      const code = await body(opened, flags, ...args);
      if (code !== undefined && code !== 0) process.exitCode = code;
    } catch (error) {
      report(flags, error, opened?.config);
    } finally {
      await opened?.close();
    }
  };
}

export function declined(message: string): OpsError {
  return new OpsError("ERR_DECLINED", message);
}
