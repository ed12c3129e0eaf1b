import { createClient } from "@vercel/edge-config";
import type { EdgeConfigReader } from "./edge-config.js";

/**
 * An Edge Config client from a connection string. `@vercel/edge-config` and
 * `@vercel/global-config` speak the same protocol, so one client serves both names of the product.
 * Its own caches are turned off: freshness is decided by the rules source (refreshMs). Its default
 * `stale-if-error` would replay the last answer through an outage with no age limit, hiding the
 * outage from `containment status`; the rules source keeps the last good ruleset itself.
 */
export function createEdgeConfigReader(connection: string): EdgeConfigReader {
  const client = createClient(connection, {
    cache: "no-store",
    disableDevelopmentCache: true,
    staleIfError: false,
  });
  return { getAll: () => client.getAll(), digest: () => client.digest() };
}
