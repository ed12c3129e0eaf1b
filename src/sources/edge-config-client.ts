import { createClient } from "@vercel/edge-config";
import type { EdgeConfigReader } from "./edge-config.js";

/**
 * An Edge Config client from a connection string. `@vercel/edge-config` and
 * `@vercel/global-config` speak the same protocol, so one client serves both names of the product.
 * Its own caches are turned off: freshness is decided by the rules source (refreshMs).
 */
export function createEdgeConfigReader(connection: string): EdgeConfigReader {
  const client = createClient(connection, { cache: "no-store", disableDevelopmentCache: true });
  return { getAll: () => client.getAll(), digest: () => client.digest() };
}
