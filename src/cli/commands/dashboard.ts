/**
 * `containment dashboard`: the dashboard on the responder's machine (127.0.0.1 only), where kill,
 * lift, extend and quarantine release can be done from the page through the same ops actions the
 * CLI runs. Without a Vercel token it is read-only and says so.
 */
import { Command, InvalidArgumentError } from "commander";
import type { ResponderActions } from "../../dashboard/local/actions.js";
import { opsActions } from "../../dashboard/local/ops-actions.js";
import { startLocalDashboard } from "../../dashboard/local/server.js";
import type { ResponderRedis } from "../../model/responder-redis.js";
import { loadOpsConfig, type OpsConfig } from "../../ops/config.js";
import { configError, isOpsError } from "../../ops/errors.js";
import { connectRedis } from "../../ops/redis-connect.js";
import { fail } from "../errors.js";
import { type GlobalFlags, openOps } from "../ops.js";
import { redactOutput } from "../secrets.js";

interface DashboardFlags extends GlobalFlags {
  port: number;
  readOnly?: boolean;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535)
    throw new InvalidArgumentError("must be a port number from 0 to 65535 (0: any free port)");
  return port;
}

/** The mirror's client, straight to Redis (REST or TCP): no local listener stands in for it. */
async function mirrorClient(config: OpsConfig, closers: Array<() => Promise<void>>): Promise<ResponderRedis> {
  const redis = await connectRedis(config);
  if (redis === undefined)
    throw configError(
      "the dashboard reads the mirror in Redis: pass --redis redis://… or set UPSTASH_REDIS_REST_URL/TOKEN (or --local)",
    );
  closers.push(() => redis.close());
  return redis;
}

/**
 * The CLI's own ops context (src/cli/ops.ts: audit chain + journal, signer, webhooks, fast lane)
 * and the actions over it, when a Vercel token is configured; its Redis client also reads the mirror.
 */
async function withActions(
  flags: DashboardFlags,
  config: OpsConfig,
  closers: Array<() => Promise<void>>,
): Promise<{ actions?: ResponderActions; redis?: ResponderRedis }> {
  if (flags.readOnly || config.edgeConfig.token === undefined || config.edgeConfig.id === UNSET_STORE)
    return {};
  const opened = await openOps(flags);
  closers.push(opened.close);
  // A failed webhook comes back as a warning line of the change; the dashboard's terminal shows it.
  const notify = opened.ctx.notify;
  opened.ctx.notify = async (event) => {
    const lines = await notify(event);
    for (const line of lines) opened.ctx.warn(line);
    return lines;
  };
  const redis = opened.ctx.redis;
  return { actions: opsActions(opened.ctx), ...(redis ? { redis } : {}) };
}

const UNSET_STORE = "ecfg_unset";

function configFor(flags: DashboardFlags): OpsConfig {
  try {
    return loadOpsConfig({ flags, env: process.env, cwd: process.cwd() });
  } catch (error) {
    // Without an Edge Config store the dashboard still shows the mirror (read-only).
    if (!/no Edge Config store/.test(String((error as Error).message))) throw error;
    return loadOpsConfig({
      flags: { ...flags, edgeConfig: "ecfg_unset" },
      env: process.env,
      cwd: process.cwd(),
    });
  }
}

export function dashboardCommand(): Command {
  return new Command("dashboard")
    .description(
      "open the containment dashboard on 127.0.0.1: live evidence, and kill/lift/extend from the page",
    )
    .option("-p, --port <port>", "port on 127.0.0.1 (0: any free port)", parsePort, 4500)
    .option("--redis <url>", "redis://… of the mirror (default: UPSTASH_REDIS_REST_URL/TOKEN)")
    .option("--prefix <prefix>", "Redis key prefix of the mirror (default containment:)")
    .option("--local", "use the endpoints of a running `containment dev` (.containment/dev.json)")
    .option("--read-only", "show only; no actions even with a Vercel token")
    .addHelpText(
      "after",
      `
Examples:
  $ containment dashboard --local                      # against a running \`containment dev\`
  $ VERCEL_TOKEN=… EDGE_CONFIG=… UPSTASH_REDIS_REST_URL=… UPSTASH_REDIS_REST_TOKEN=… containment dashboard

Open the printed URL once: its one-time token is traded for a session cookie (ends after 30 min
idle, 12 h in any case, or on "Log out") and leaves the address bar. Once it is used, the next
visit without a session prints a new URL here. The server answers only on 127.0.0.1 and only under
the Host it printed.`,
    )
    .action(async (flags: DashboardFlags) => {
      const closers: Array<() => Promise<void>> = [];
      try {
        const config = configFor(flags);
        const acting = await withActions(flags, config, closers);
        const actions = acting.actions;
        const redis = acting.redis ?? (await mirrorClient(config, closers));
        const started = await startLocalDashboard({
          redis,
          prefix: config.prefix,
          edgeConfig: config.edgeConfig.readUrl,
          reportSecret: config.reportSecret,
          actions,
          port: flags.port,
          onAccessUrl: (url) =>
            console.log(`containment dashboard: the access URL was used; for a new session open ${url}`),
        });
        closers.push(started.close);
        console.log(`containment dashboard: open ${started.url}`);
        console.log(
          actions === undefined
            ? "  read-only: no actions (set VERCEL_TOKEN to kill, lift and extend from the page)"
            : "  actions: kill, lift, extend and quarantine release, through the CLI's own code and audit trail",
        );
        if (config.edgeConfig.readUrl === undefined)
          console.log(
            "  kill switches are shown as the edge reports them (set EDGE_CONFIG for their details)",
          );
        const stop = () => {
          void Promise.all(closers.map((close) => close().catch(() => {}))).finally(() => process.exit(0));
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      } catch (error) {
        await Promise.all(closers.map((close) => close().catch(() => {})));
        // Ops errors are written for the responder: one line, exit code by kind (docs/cli.md, exit codes).
        if (isOpsError(error)) {
          console.error(redactOutput(error.message, flags));
          process.exit(error.exitCode);
        }
        fail(error);
      }
    });
}
