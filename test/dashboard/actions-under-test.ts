/**
 * The actions the browser test acts through: the real ones (src/dashboard/local/ops-actions.ts over
 * cli's src/ops/actions), on an ops context configured the way a responder's environment does it,
 * pointed at the Vercel API stand-in (bearer token checked) and the real Redis.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ResponderActions } from "../../src/dashboard/local/actions.js";
import { opsActions } from "../../src/dashboard/local/ops-actions.js";
import type { EdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { memoryJournal } from "../../src/ops/audit/index.js";
import { loadOpsConfig } from "../../src/ops/config.js";
import { createOpsContext } from "../../src/ops/context.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import type { RedisFixture } from "../integration/redis-fixture.js";

export interface ActionsUnderTest {
  actions: ResponderActions;
  /** Webhook-style notifications the actions sent (what `containment kill` would post). */
  notified: string[];
  close(): Promise<void>;
}

export async function dashboardActions({
  ec,
  redis,
}: {
  ec: EdgeConfigServer;
  redis: RedisFixture;
}): Promise<ActionsUnderTest> {
  const config = loadOpsConfig({
    env: {
      EDGE_CONFIG_ID: ec.id,
      EDGE_CONFIG: ec.connectionString,
      VERCEL_TOKEN: ec.apiToken,
      VERCEL_API_URL: ec.apiUrl,
      UPSTASH_REDIS_REST_URL: redis.connection.url,
      UPSTASH_REDIS_REST_TOKEN: redis.connection.token,
    },
    cwd: mkdtempSync(join(tmpdir(), "dash-ops-")),
  });
  const notified: string[] = [];
  const ctx = createOpsContext(config, {
    redis: restRedis(redis.connection),
    journal: memoryJournal(),
    notify: async (event) => {
      notified.push(event.summary);
    },
    warn: () => {},
  });
  return { actions: opsActions(ctx), notified, close: async () => {} };
}
