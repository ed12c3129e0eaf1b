// The firewall in front of every route (edge runtime). Rules come from the Edge Config named by
// EDGE_CONFIG; rate limits and the decision mirror from UPSTASH_REDIS_REST_URL / _TOKEN.
import { compose, createNextMiddleware } from "edge-containment/next";
import { type NextRequest, NextResponse } from "next/server";

const firewall = createNextMiddleware();

// Your own middleware runs after the firewall passed; the firewall's headers are kept, and a
// rewrite it returns is checked by the firewall too.
function appMiddleware(request: NextRequest) {
  const match = /^\/go\/export\/([^/]+)$/.exec(request.nextUrl.pathname);
  if (match) return NextResponse.rewrite(new URL(`/portal/api/patients/${match[1]}/export`, request.url));
  return NextResponse.next();
}

export default compose(firewall, appMiddleware);

// Every path on purpose: a firewall that skips paths invites requests spelled to land in the skipped set.
export const config = { matcher: "/:path*" };
