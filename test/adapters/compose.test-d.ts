/**
 * Type tests (checked by `npm run typecheck`, never run): `compose`, `only` and `except` take
 * Next's own middleware type and the documented wrappers of Auth.js, Clerk and next-intl as
 * published, without casts, and what `compose` returns is a Next.js middleware / proxy. The
 * libraries' types are copied from their declarations in fixtures/published-middleware-types.ts.
 */
import { expectTypeOf } from "vitest";
import { compose, createNextMiddleware, except, only } from "../../src/adapters/next.js";
import {
  auth,
  clerkMiddleware,
  createIntlMiddleware,
  type NextAuthMiddleware,
  type NextMiddleware,
  type NextProxy,
  type NextRequest,
  NextResponse,
} from "./fixtures/published-middleware-types.js";

declare const nextMiddleware: NextMiddleware;
const firewall = createNextMiddleware();
const intl = createIntlMiddleware({ locales: ["en", "de"], defaultLocale: "en", localePrefix: "as-needed" });

// Next's own types: a NextMiddleware (returning void among others) composes, and both the firewall
// and the composition are a NextMiddleware / NextProxy.
expectTypeOf(compose(firewall, nextMiddleware)).toExtend<NextMiddleware>();
expectTypeOf(firewall).toExtend<NextProxy>();

// next-intl, kept off /api.
expectTypeOf(compose(firewall, except("/api/**", intl))).toExtend<NextMiddleware>();

// Auth.js v5: `auth(handler)` (typed as a route handler with `{ params }`), alone and with next-intl.
const authed = auth((req) => {
  expectTypeOf(req.auth).not.toBeAny();
  return req.auth ? undefined : Response.redirect(new URL("/login", req.url));
});
expectTypeOf(compose(firewall, authed)).toExtend<NextMiddleware>();
expectTypeOf(
  compose(firewall, only("/dashboard/**", authed), except("/api/**", intl)),
).toExtend<NextMiddleware>();
// Auth.js's middleware form, `auth((req, event) => …)` returning NextMiddleware.
const authMiddleware: NextAuthMiddleware = (_req, event) => event.waitUntil(Promise.resolve());
expectTypeOf(auth(authMiddleware)).toEqualTypeOf<NextMiddleware>();
expectTypeOf(compose(firewall, auth(authMiddleware))).toExtend<NextMiddleware>();

// Clerk: `clerkMiddleware()` and `clerkMiddleware(handler)`.
expectTypeOf(compose(firewall, clerkMiddleware())).toExtend<NextMiddleware>();
expectTypeOf(
  compose(
    firewall,
    clerkMiddleware(async (authObject, request) => {
      if (request.nextUrl.pathname.startsWith("/dashboard")) await authObject.protect();
    }),
  ),
).toExtend<NextMiddleware>();

// Your own middleware written inline: the request is what the others take, any answer or nothing.
expectTypeOf(
  compose(firewall, (request: NextRequest) => (request.nextUrl.locale ? NextResponse.next() : undefined)),
).toExtend<NextMiddleware>();

// What still does not compose: an answer that is not a response, or a path that is not a pattern.
// @ts-expect-error a middleware must answer with a Response or nothing
compose(firewall, () => "no");
// @ts-expect-error paths are a pattern or a list of them
except(42, intl);
