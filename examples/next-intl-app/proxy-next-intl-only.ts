// proxy.ts
import { compose, createNextProxy, except } from "edge-containment/next";
import createMiddleware from "next-intl/middleware";
import { routing } from "./i18n/routing";

export const proxy = compose(createNextProxy(), except("/api/**", createMiddleware(routing)));
export const config = { matcher: "/:path*" };
