import { Command } from "commander";
import { errorText } from "../../core/errors.js";
import { readAnchor } from "../../ops/audit/index.js";
import { hookLabel } from "../../ops/notify.js";
import { aclCommands } from "../../ops/redis-acl.js";
import { action, emit, withOpsOptions } from "../ops.js";

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** `containment doctor`: checks each setting live and says what to fix. */
export function doctorCommand(): Command {
  const command = new Command("doctor")
    .description(
      "check the configuration live: token, store, Redis, report secret, pseudonym key, and which regions enforce what",
    )
    .option(
      "--print-acl",
      "print the ACL SETUSER lines of the edge, responder and reader Redis users, and exit",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  $ EDGE_CONFIG_ID=ecfg_… VERCEL_TOKEN=… containment doctor\n  $ containment doctor --print-acl --local",
    );
  withOpsOptions(command);
  return command.action(
    action(async ({ ctx, config }, flags) => {
      if ((command.opts() as { printAcl?: boolean }).printAcl) {
        const pw = {
          edge: "<edge-password>",
          responder: "<responder-password>",
          reader: "<reader-password>",
        };
        for (const line of aclCommands(config.prefix, pw)) console.log(line);
        return 0;
      }
      const checks: Check[] = [];
      const check = async (name: string, work: () => Promise<string>, fix: string) => {
        try {
          checks.push({ name, ok: true, detail: await work() });
        } catch (error) {
          checks.push({
            name,
            ok: false,
            detail: `${errorText(error).replace(/^edge-containment: /, "")}${fix ? ` — ${fix}` : ""}`,
          });
        }
      };
      const src = (key: string) => (config.sources[key] ? ` (from ${config.sources[key]})` : "");
      await check(
        "Vercel token",
        async () => `accepted: user ${(await ctx.api.user()).username}${src("edgeConfig.token")}`,
        "create a token at vercel.com/account/tokens and set VERCEL_TOKEN",
      );
      await check(
        "Edge Config store",
        async () => {
          const store = await ctx.api.store();
          return `${config.edgeConfig.id}${src("edgeConfig.id")}: ${store.itemCount} items, ${store.sizeInBytes} bytes, digest ${store.digest}`;
        },
        "check EDGE_CONFIG_ID and VERCEL_TEAM_ID",
      );
      await check(
        "audit anchor",
        async () => {
          const anchor = await readAnchor(ctx.api);
          if (anchor !== null && "malformed" in anchor)
            throw new Error(
              "containment_audit_head holds no chain head: run `containment audit verify`, then `containment audit anchor`",
            );
          return anchor
            ? `containment_audit_head at #${anchor.seq}`
            : "none yet (written with the first change)";
        },
        "",
      );
      if (ctx.redis === undefined)
        checks.push({
          name: "Redis",
          ok: false,
          detail:
            "not configured: set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (or --redis redis://…); without it nothing can be confirmed and audit entries are journaled",
        });
      else
        await check(
          "Redis",
          async () => `reachable (${(await ctx.redis?.ping()) ?? "?"})${src("redis")}`,
          "check the Redis URL and token",
        );
      checks.push(
        config.reportSecret === undefined
          ? {
              name: "report secret",
              ok: false,
              detail: "CONTAINMENT_REPORT_SECRET is not set: --wait cannot verify the isolates' reports",
            }
          : { name: "report secret", ok: true, detail: "set" },
      );
      checks.push(
        config.pseudonymKey === undefined
          ? {
              name: "pseudonym key",
              ok: false,
              detail:
                "CONTAINMENT_SALT is not set: `tenant resolve` cannot check a pseudonym; set it to the deployment's (a deployment without one keys identities per isolate, so rate limits and quarantines count per isolate)",
            }
          : { name: "pseudonym key", ok: true, detail: "set" },
      );
      if (ctx.reader !== undefined && config.reportSecret !== undefined) {
        await check(
          "middleware seen",
          async () => {
            const records = await (ctx.reader as NonNullable<typeof ctx.reader>).isolates({
              sinceMs: ctx.now() - 5 * 60_000,
            });
            if (records.length === 0)
              throw new Error(
                "no isolate reported in the last 5 minutes (no traffic, or the middleware is not deployed with this Redis)",
              );
            const regions = new Map<string, Set<string>>();
            for (const r of records)
              if (r.trust === "verified")
                regions.set(r.region, (regions.get(r.region) ?? new Set()).add(r.report?.digest ?? "?"));
            if (regions.size === 0)
              throw new Error(
                `${records.length} report(s), none verified with this CONTAINMENT_REPORT_SECRET`,
              );
            return [...regions]
              .map(([region, digests]) => `${region} → ${[...digests].join(",")}`)
              .join("; ");
          },
          "",
        );
      }
      checks.push({
        name: "webhooks",
        ok: true,
        detail:
          config.webhooks.length === 0
            ? "none configured"
            : config.webhooks.map((h) => `${hookLabel(h.url)} (${h.format})`).join(", "),
      });
      const ok = checks.every((c) => c.ok);
      emit(flags, { checks, healthy: ok }, [
        ...checks.map((c) => `${c.ok ? "ok  " : "FIX "} ${c.name}: ${c.detail}`),
        ok ? "all good" : "fix the lines marked FIX",
      ]);
      return ok ? 0 : 3;
    }),
  );
}
