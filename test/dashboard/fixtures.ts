/** Shared by the dashboard tests: a rules document with a kill switch and a rate limit, and traffic for it. */
import type { Harness } from "../support/harness.js";

export const DASHBOARD_RULES = {
  version: 1,
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

/** `blocks` requests to the killed route and `exports` to the rate-limited one (the first 2 pass). */
export async function sendTraffic(
  h: Harness,
  {
    blocks,
    exports,
    tenant = "acme",
    ip = "203.0.113.7",
  }: { blocks: number; exports: number; tenant?: string; ip?: string },
): Promise<void> {
  for (let i = 0; i < blocks; i++) {
    const r = await h.fetch(`/api/${tenant}/patients/${i}/export?mrn=${i}`, { headers: { "x-real-ip": ip } });
    await r.arrayBuffer();
  }
  for (let i = 0; i < exports; i++) {
    const r = await h.fetch(`/api/${tenant}/export/all`, { headers: { "x-real-ip": ip } });
    await r.arrayBuffer();
  }
}
