// proxy.ts
import { compose, createNextProxy, except, only } from "edge-containment/next";
import createMiddleware from "next-intl/middleware";
import { auth } from "./auth";
import { routing } from "./i18n/routing";

const signedIn = auth((req) => (req.auth ? undefined : Response.redirect(new URL("/login", req.url))));

export const proxy = compose(
  createNextProxy(),
  only("/dashboard/**", signedIn),
  except("/api/**", createMiddleware(routing)),
);
export const config = { matcher: "/:path*" };
