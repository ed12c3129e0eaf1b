// The containment dashboard mounted in the app (read-only), behind the app's own auth. Only GET is
// exported: there is no action endpoint, since acting needs a team-wide Vercel token that must not
// live inside the app being contained (responders act from `containment dashboard` on their machine).
import { createDashboardHandler } from "edge-containment/dashboard";

// "edge" works too (Upstash REST, no Node APIs); Next 16 deprecates the edge runtime for routes.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const encoder = new TextEncoder();

/** Compares two strings in time independent of where they differ. */
function same(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

// Stand-in for your app's session check: a responder's bearer token. Unset → nobody is let in.
function authorize(request: Request): boolean | Response {
  const expected = process.env.EXAMPLE_DASHBOARD_TOKEN;
  const given = /^Bearer (.+)$/.exec(request.headers.get("authorization") ?? "")?.[1];
  if (!given)
    return new Response("authentication required\n", {
      status: 401,
      headers: { "www-authenticate": 'Bearer realm="containment"', "cache-control": "no-store" },
    });
  return Boolean(expected) && same(given, expected as string);
}

export const GET = createDashboardHandler({
  // Use the read-only credential of the mirror's Redis: the handler only ever reads.
  redis: {
    url: process.env.UPSTASH_REDIS_REST_URL ?? "",
    token: process.env.DASHBOARD_REDIS_READONLY_TOKEN ?? process.env.UPSTASH_REDIS_REST_TOKEN ?? "",
  },
  authorize,
  // The route's folder (the default); next.config's basePath (/portal) is read from request.nextUrl.
  basePath: "/containment",
  edgeConfig: process.env.EDGE_CONFIG,
});
