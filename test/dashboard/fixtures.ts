/** Shared by the dashboard tests: a rules document with a kill switch and a rate limit, and traffic for it. */
import type { Harness } from "../support/harness.js";

export const DASHBOARD_RULES = {
  version: 1,
  // Declared: the mirror names only these tenants (docs/recorded-format.md#privacy).
  tenants: { acme: { origins: [] }, globex: { origins: [] }, initech: { origins: [] } },
  rules: [
    {
      id: "export-limit",
      kind: "rate-limit",
      match: { path: "/api/:tenant/export/**" },
      limit: 2,
      window: "1m",
      algorithm: "fixed-window",
      by: ["tenant", "ip"],
    },
    {
      id: "freeze-patients",
      kind: "kill-switch",
      match: { path: "/api/:tenant/patients/**" },
      status: 503,
      incident: "INC-2041",
    },
  ],
};

/**
 * `blocks` requests to the killed route and `exports` to the rate-limited one. Answers what the
 * middleware did (503s, 429s): a loaded machine can push a rate-limit check past its deadline (the
 * rule's fail mode then decides), so tests compare the dashboard with these, not with a guess.
 */
export async function sendTraffic(
  h: Harness,
  options: { blocks: number; exports: number; tenant?: string; ip?: string },
): Promise<{ blocked: number; limited: number; refused: number }> {
  const { blocks, exports, tenant = "acme", ip = "203.0.113.7" } = options;
  // refused: every export answered with 4xx/5xx (429s, and 503s when a check failed closed).
  const seen = { blocked: 0, limited: 0, refused: 0 };

  for (let i = 0; i < blocks; i++) {
    const r = await h.fetch(`/api/${tenant}/patients/${i}/export?mrn=${i}`, { headers: { "x-real-ip": ip } });
    await r.arrayBuffer();
    if (r.status === 503) seen.blocked++;
  }
  for (let i = 0; i < exports; i++) {
    const r = await h.fetch(`/api/${tenant}/export/all`, { headers: { "x-real-ip": ip } });
    await r.arrayBuffer();
    if (r.status === 429) seen.limited++;
    if (r.status >= 400) seen.refused++;
  }
  return seen;
}
