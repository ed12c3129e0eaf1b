import { Command, InvalidArgumentError } from "commander";
import { ConfigInvalid } from "../../core/errors.js";
import { devBanner } from "../../dev/banner.js";
import { findProjectEntry } from "../../dev/project.js";
import type { DevServer } from "../../dev/server.js";
import { fail } from "../errors.js";

interface DevFlags {
  port: number;
  host: string;
  rules?: string;
  upstream?: string;
  redis?: string;
  basePath?: string;
  locales?: string;
  passEnv?: string;
  edgeConfigPort?: number;
  dashboardPort?: number;
  entry?: string;
}

function listOf(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  return text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535)
    throw new InvalidArgumentError("must be a port number from 0 to 65535 (0: any free port)");
  return port;
}

/**
 * Closes everything on Ctrl-C or SIGTERM and exits with the shell's code for the signal (130, 143).
 * Miniflare installs its own exit hook on these signals that kills workerd and exits at once; this
 * listener goes first so the servers start closing and the message prints before that happens. The
 * process ends either way, and the test checks that no child outlives it.
 */
function closeOnSignals(dev: DevServer): void {
  let closing = false;
  const stop = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    console.log(`\n${signal}: stopping the dev server`);
    const code = signal === "SIGINT" ? 130 : 143;
    dev.close().finally(() => process.exit(code));
  };
  process.prependListener("SIGINT", stop);
  process.prependListener("SIGTERM", stop);
}

/**
 * Loaded on use: workerd (miniflare), esbuild and ioredis are optional peers that the other commands
 * do not need, so a missing one is a clear message here rather than a crash of every command.
 */
async function loadDevServer(): Promise<typeof import("../../dev/server.js")> {
  try {
    return await import("../../dev/server.js");
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ERR_MODULE_NOT_FOUND") throw error;
    throw new ConfigInvalid(
      "containment dev needs the optional packages miniflare, esbuild and ioredis: npm install --save-dev miniflare esbuild ioredis",
    );
  }
}

/** `containment dev`: the firewall locally, in workerd, in front of an upstream. */
export function devCommand(): Command {
  return new Command("dev")
    .description(
      "run the middleware in workerd on localhost, with rules from a watched file; in a project, its own middleware.ts / proxy.ts",
    )
    .option("-p, --port <port>", "port of the firewall (0: any free port)", parsePort, 3000)
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option(
      "--rules <file>",
      "rules document to serve through the local Edge Config (default: containment.rules.json in a project, else the package's rules/default.json)",
    )
    .option(
      "--edge-config-port <port>",
      "port of the local Edge Config, so EDGE_CONFIG can be set once in .env.local (default: any free port)",
      parsePort,
    )
    .option(
      "--dashboard-port <port>",
      "port of the dashboard on 127.0.0.1, an origin apart from the app's (with --redis; default: any free port)",
      parsePort,
    )
    .option(
      "--entry <file>",
      "the project's middleware file (default: ./middleware.ts or ./proxy.ts if present)",
    )
    .option("--upstream <url>", "origin behind the firewall (default: a built-in demo origin)")
    .option("--redis <url>", "redis://… of a real Redis (default: an embedded in-memory store)")
    .option(
      "--base-path <path>",
      "the app's Next.js basePath, e.g. /docs (as the deployment's normalize.basePath)",
    )
    .option("--locales <list>", "the app's i18n locales, comma-separated, e.g. en,de")
    .option(
      "--pass-env <names>",
      "more environment variables for the worker, comma-separated (every secretEnv and honeytoken decoy key of the rules, and the alert variables when set, are passed already)",
    )
    .addHelpText(
      "after",
      "\nExample:\n  $ containment dev --redis redis://127.0.0.1:6379\n\nIn a Next.js project (next dev on port 3001, EDGE_CONFIG in .env.local from the banner):\n  npx containment dev --upstream http://127.0.0.1:3001 --edge-config-port 4111\n\nA basePath + i18n app whose tenant binding reads TB_SECRET from the environment:\n  TB_SECRET=… npx containment dev --upstream http://127.0.0.1:3001 --base-path /docs --locales en,de",
    )
    .action(async (flags: DevFlags) => {
      try {
        const entry = findProjectEntry(process.cwd(), flags.entry);
        const { startDevServer } = await loadDevServer();
        const dev = await startDevServer({
          port: flags.port,
          host: flags.host,
          ...(flags.rules === undefined ? {} : { rules: flags.rules }),
          ...(flags.upstream === undefined ? {} : { upstream: flags.upstream }),
          ...(flags.redis === undefined ? {} : { redis: flags.redis }),
          ...(flags.basePath === undefined ? {} : { basePath: flags.basePath }),
          ...(flags.locales === undefined ? {} : { locales: listOf(flags.locales) ?? [] }),
          ...(flags.passEnv === undefined ? {} : { passEnv: listOf(flags.passEnv) ?? [] }),
          ...(flags.edgeConfigPort === undefined ? {} : { edgeConfigPort: flags.edgeConfigPort }),
          ...(flags.dashboardPort === undefined ? {} : { dashboardPort: flags.dashboardPort }),
          ...(entry === undefined ? {} : { project: { entry } }),
        });
        console.log(devBanner(dev));
        closeOnSignals(dev);
      } catch (error) {
        fail(error);
      }
    });
}
