// proxy.ts
import { clerkMiddleware } from "@clerk/nextjs/server";
import { compose, createNextProxy } from "edge-containment/next";

export const proxy = compose(
  createNextProxy(),
  clerkMiddleware(async (auth, request) => {
    if (request.nextUrl.pathname.startsWith("/dashboard")) await auth.protect();
  }),
);
export const config = { matcher: "/:path*" };
