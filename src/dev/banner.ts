import { relative } from "node:path";
import type { DevServer } from "./server.js";

/**
 * What `containment dev` prints once it is serving: every URL a responder needs, and how to flip a
 * kill switch through the same write API `containment flip` will use against Vercel.
 */
export function devBanner(dev: DevServer, cwd = process.cwd()): string {
  const rules = relative(cwd, dev.rulesFile) || dev.rulesFile;
  const kb = (dev.bundleGzipBytes / 1024).toFixed(1);
  const store =
    dev.store === "memory"
      ? "embedded in-memory store (no Redis: counters and decisions live in the worker and reset on restart; pass --redis redis://… for a real one)"
      : `Redis ${dev.store} through the local Upstash REST bridge`;
  const killSwitch = JSON.stringify({
    items: [
      {
        operation: "upsert",
        key: "containment_kill_demo",
        value: { match: { path: "/api/patients/**" }, incident: "INC-1", reason: "local test" },
      },
    ],
  });
  return [
    dev.projectEntry
      ? `edge-containment dev: your ${relative(cwd, dev.projectEntry) || dev.projectEntry} bundled for the edge (${kb} KB gzipped, rebuilt when you save it), running in workerd (compatibility date ${dev.compatibilityDate}, no nodejs_compat)`
      : `edge-containment dev: middleware.ts bundled for the edge (${kb} KB gzipped), running in workerd (compatibility date ${dev.compatibilityDate}, no nodejs_compat)`,
    "",
    `  firewall     ${dev.urls.firewall}`,
    `  upstream     ${dev.urls.upstream}${dev.upstreamIsDemo ? "  (built-in demo origin)" : ""}`,
    ...(dev.upstreamRunsMiddleware
      ? [
          `               it runs your ${relative(cwd, dev.projectEntry ?? "") || "middleware"} again: what the firewall passes goes through your middleware twice, once here and once there;`,
          "               a rewrite of yours (an i18n locale) is left to it, so the path goes on as the client sent it",
        ]
      : []),
    `  rules        ${rules}  (watched: saved edits are enforced within 1 s)`,
    `  edge config  ${dev.urls.edgeConfig}  (stand-in; EDGE_CONFIG=${dev.edgeConfigConnection})`,
    ...(dev.projectEntry
      ? [`               for next dev, put in .env.local: EDGE_CONFIG=${dev.edgeConfigConnection}`]
      : []),
    `  write API    PATCH ${dev.urls.writeApi}`,
    `               Authorization: Bearer ${dev.apiToken}`,
    `  store        ${store}`,
    dev.urls.dashboard
      ? `  dashboard    ${dev.urls.dashboard}  (its own origin; open once: the one-time token becomes a session cookie)`
      : "  dashboard    needs --redis (the in-memory store is not readable outside workerd)",
    "",
    "Try:",
    `  curl -i ${dev.urls.firewall}/api/patients/1/export`,
    `  curl -X PATCH ${dev.urls.writeApi} -H 'authorization: Bearer ${dev.apiToken}' -H 'content-type: application/json' -d '${killSwitch}'`,
    "",
    "Ctrl-C stops everything.",
  ].join("\n");
}
