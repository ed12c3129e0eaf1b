/**
 * The dashboard of `containment dev`: the same local dashboard as `containment dashboard` (one-time
 * token → expiring session cookie, Host check, CSRF-checked actions through the CLI's ops actions,
 * here against the dev Vercel-API stand-in), on a port of its own, so on an origin of its own. Under
 * a path of the firewall's address it would share the origin of the app behind the firewall, whose
 * scripts could then read the page and its CSRF token and act. It reads the dev Redis, so it needs
 * `--redis` (the in-memory store lives inside workerd, where nothing else can read it).
 */

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { opsActions } from "../dashboard/local/ops-actions.js";
import { type StartedLocalDashboard, startLocalDashboard } from "../dashboard/local/server.js";
import { memoryJournal } from "../ops/audit/index.js";
import { loadOpsConfig } from "../ops/config.js";
import { createOpsContext } from "../ops/context.js";
import { restRedis } from "../ops/redis-rest.js";
import type { EdgeConfigServer } from "./edge-config-server.js";

export type DevDashboard = StartedLocalDashboard;

export function startDevDashboard(setup: {
  /** 127.0.0.1:`port`; 0: any free port. */
  port: number;
  ec: EdgeConfigServer;
  redis: { url: string; token: string };
  reportSecret: string;
  log: (line: string) => void;
}): Promise<DevDashboard> {
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
  return startLocalDashboard({
    redis: client,
    edgeConfig: ec.connectionString,
    reportSecret: setup.reportSecret,
    actions: opsActions(ctx),
    port: setup.port,
    onAccessUrl: (url) => setup.log(`dashboard: the access URL was used; for a new session open ${url}`),
  });
}
