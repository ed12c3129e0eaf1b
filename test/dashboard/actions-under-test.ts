/**
 * The actions the browser test acts through. INTERIM until cli's src/ops/actions lands on hub: a
 * double that writes the Edge Config stand-in directly and audits nothing. Replaced by the real
 * ops actions (src/dashboard/local/ops-actions.ts) against the stand-in's Vercel API.
 */
import type { ResponderActions } from "../../src/dashboard/local/actions.js";
import type { EdgeConfigServer } from "../../src/dev/edge-config-server.js";
import type { RedisFixture } from "../integration/redis-fixture.js";

export async function dashboardActions({
  ec,
}: {
  ec: EdgeConfigServer;
  redis: RedisFixture;
}): Promise<{ actions: ResponderActions; close(): Promise<void> }> {
  const actions: ResponderActions = {
    async kill(input) {
      const id = input.id ?? "switch";
      const match: Record<string, unknown> = { path: input.path };
      if (input.tenants) match.tenants = input.tenants;
      if (input.methods) match.methods = input.methods;
      ec.setItem(`containment_kill_${id}`, {
        id,
        version: 1,
        match,
        status: 503,
        reason: input.reason,
        incident: input.incident,
      } as never);
      return { summary: `kill switch ${id} created` };
    },
    async lift(input) {
      ec.deleteItem(`containment_kill_${input.id}`);
      return { summary: `kill switch ${input.id} lifted` };
    },
    async extend(input) {
      return { summary: `kill switch ${input.id} extended` };
    },
    async releaseQuarantine(input) {
      return { summary: `released ${input.dimension}:${input.id}` };
    },
  };
  return { actions, close: async () => {} };
}
