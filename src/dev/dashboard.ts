/**
 * The dashboard as a path of `containment dev`: `/_containment/` on the firewall's own address,
 * answered by the front server before the firewall sees the request. Same local dashboard as
 * `containment dashboard` (token → cookie, Host check, CSRF-checked actions through the CLI's ops
 * actions, here against the dev Vercel-API stand-in); it reads the dev Redis, so it needs `--redis`
 * (the in-memory store lives inside workerd, where nothing else can read it).
 */

import { mkdtempSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { opsActions } from "../dashboard/local/ops-actions.js";
import { createLocalDashboard, type LocalDashboard } from "../dashboard/local/server.js";
import { memoryJournal } from "../ops/audit/index.js";
import { loadOpsConfig } from "../ops/config.js";
import { createOpsContext } from "../ops/context.js";
import { restRedis } from "../ops/redis-rest.js";
import type { EdgeConfigServer } from "./edge-config-server.js";

const DASHBOARD_PATH = "/_containment";

export type DevDashboard = LocalDashboard;

export function devDashboard(setup: {
  front: string;
  ec: EdgeConfigServer;
  redis: { url: string; token: string };
  reportSecret: string;
}): DevDashboard {
  const { ec, redis } = setup;
  const config = loadOpsConfig({
    env: {
      EDGE_CONFIG_ID: ec.id,
      EDGE_CONFIG: ec.connectionString,
      VERCEL_TOKEN: ec.apiToken,
      VERCEL_API_URL: ec.apiUrl,
      UPSTASH_REDIS_REST_URL: redis.url,
      UPSTASH_REDIS_REST_TOKEN: redis.token,
      CONTAINMENT_REPORT_SECRET: setup.reportSecret,
    },
    cwd: mkdtempSync(join(tmpdir(), "containment-dev-dashboard-")),
  });
  const client = restRedis(redis);
  const ctx = createOpsContext(config, { redis: client, journal: memoryJournal() });
  return createLocalDashboard({
    redis: client,
    edgeConfig: ec.connectionString,
    reportSecret: setup.reportSecret,
    actions: opsActions(ctx),
    host: new URL(setup.front).host,
    basePath: DASHBOARD_PATH,
  });
}

/** Claims `/_containment…`; without a dashboard (no --redis) answers that it needs one. */
export async function interceptDashboard(
  dashboard: DevDashboard | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  const path = (req.url ?? "").split("?")[0] ?? "";
  if (!(path === DASHBOARD_PATH || path.startsWith(`${DASHBOARD_PATH}/`))) return false;
  if (dashboard) return dashboard.handle(req, res);
  res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  res.end(
    "The dashboard reads the mirror in Redis: restart containment dev with --redis redis://127.0.0.1:6379\n",
  );
  return true;
}
