// The same firewall as middleware.ts, as a Next 16 proxy (Node runtime). To switch, delete
// middleware.ts and move this file to the project root as proxy.ts.
import { compose, createNextProxy } from "edge-containment/next";
import { type NextRequest, NextResponse } from "next/server";

const firewall = createNextProxy();

function appProxy(request: NextRequest) {
  const match = /^\/go\/export\/([^/]+)$/.exec(request.nextUrl.pathname);
  if (match) return NextResponse.rewrite(new URL(`/portal/api/patients/${match[1]}/export`, request.url));
  return NextResponse.next();
}

export const proxy = compose(firewall, appProxy);

export const config = { matcher: "/:path*" };
