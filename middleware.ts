/*
 * The drop-in: Vercel Routing Middleware for any framework. Rules come from the Edge Config named by
 * EDGE_CONFIG (item `containment`, plus `containment_kill_<id>` items); without it the bundled
 * rules/default.json is enforced. The matcher covers every path on purpose: a firewall that skips
 * paths invites requests spelled to land in the skipped set.
 */
import { createMiddleware } from "./src/adapters/vercel.js";

export default createMiddleware();

export const config = { matcher: "/:path*" };
