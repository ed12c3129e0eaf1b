/**
 * `only` / `except` scope your middleware inside `compose` to part of the app: an i18n middleware
 * kept off `/api` never rewrites an API route under a locale, while the firewall still sees every
 * path. Plain `Request`s (no `nextUrl`) and ones carrying Next's `nextUrl.pathname` (basePath removed).
 */
import { describe, expect, it } from "vitest";
import { compose, createNextMiddleware, except, only } from "../../src/adapters/next.js";

const RULES = {
  version: 1,
  rules: [
    { id: "page-freeze", kind: "kill-switch", match: { path: "/dashboard/export" } },
    {
      id: "private",
      kind: "headers",
      match: { path: "/api/**" },
      set: { "cache-control": "private, no-store" },
    },
  ],
};

/** Stands for next-intl's middleware: rewrites every path it sees under the default locale. */
function localeRewriter(seen: string[]) {
  return (request: Request) => {
    const url = new URL(request.url);
    seen.push(url.pathname);
    return new Response(null, {
      headers: { "x-middleware-rewrite": new URL(`/en${url.pathname}`, url).href },
    });
  };
}

const request = (path: string) => new Request(`https://app.example${path}`);

describe("except(paths, middleware) and only(paths, middleware) in compose", () => {
  it("keeps an i18n middleware off /api, in any case or encoding, and runs it elsewhere", async () => {
    const seen: string[] = [];
    const chain = compose(
      createNextMiddleware({ rules: RULES, env: {} }),
      except("/api/**", localeRewriter(seen)),
    );
    for (const path of ["/api/patients", "/API/patients", "/%61pi/patients"]) {
      const response = await chain(request(path));
      expect(response.headers.get("x-middleware-rewrite"), path).toBeNull();
      expect(response.headers.get("cache-control"), path).toBe("private, no-store");
    }
    const page = await chain(request("/about"));
    expect(page.headers.get("x-middleware-rewrite")).toBe("https://app.example/en/about");
    expect(seen).toEqual(["/about"]);
  });

  it("still lets the firewall decide on the paths your middleware skips and on its rewrites", async () => {
    const chain = compose(
      createNextMiddleware({ rules: RULES, env: {} }),
      except("/api/**", localeRewriter([])),
    );
    expect((await chain(request("/dashboard/export"))).status).toBe(503);
    expect((await chain(request("/fr/dashboard/export"))).status).toBe(503);
  });

  it("runs a middleware only on its paths, reading nextUrl.pathname when Next gives one", async () => {
    const seen: string[] = [];
    const guard = only(["/account/**", "/orders"], (incoming: Request) => {
      seen.push(new URL(incoming.url).pathname);
      return Response.redirect("https://app.example/login", 307);
    });
    const chain = compose(createNextMiddleware({ rules: RULES, env: {} }), guard);
    expect((await chain(request("/account/settings"))).status).toBe(307);
    expect((await chain(request("/orders"))).status).toBe(307);
    expect((await chain(request("/orders/1"))).headers.get("x-middleware-next")).toBe("1");
    const underBase = Object.assign(request("/portal/account/x"), { nextUrl: { pathname: "/account/x" } });
    expect((await chain(underBase)).status).toBe(307);
    expect(seen).toEqual(["/account/settings", "/orders", "/portal/account/x"]);
  });

  it("runs a guard scoped with only() under any locale prefix too, so /de/dashboard is not left unguarded", async () => {
    // next-intl with localePrefix "as-needed" serves /dashboard, /de/dashboard and /fr/dashboard:
    // a guard written without a locale must run on each, in any case or encoding of the prefix.
    const seen: string[] = [];
    const guard = only("/dashboard/**", (incoming: Request) => {
      seen.push(new URL(incoming.url).pathname);
      return Response.redirect("https://app.example/login", 307);
    });
    const chain = compose(createNextMiddleware({ rules: RULES, env: {} }), guard);
    const paths = [
      "/dashboard",
      "/de/dashboard",
      "/fr/dashboard/settings",
      "/DE/dashboard",
      "/%64e/dashboard",
    ];
    for (const path of paths) expect((await chain(request(path))).status, path).toBe(307);
    expect(seen).toEqual(paths);
    // api is never a locale, and except() still skips only on the path itself.
    expect((await chain(request("/api/dashboard"))).headers.get("x-middleware-next")).toBe("1");
    const intlSeen: string[] = [];
    const intl = compose(
      createNextMiddleware({ rules: RULES, env: {} }),
      except("/api/**", localeRewriter(intlSeen)),
    );
    await intl(request("/de/api/x"));
    expect(intlSeen).toEqual(["/de/api/x"]);
  });

  it("goes on past a middleware that answers NextResponse.next(), as Auth.js's auth(handler) always does, keeping its cookies", async () => {
    // auth((req) => undefined) answers NextResponse.next() with the session's set-cookie, never
    // nothing: the i18n middleware after it must still rewrite /dashboard under the default locale.
    const authLike = () => {
      const answer = new Response(null, { headers: { "x-middleware-next": "1" } });
      answer.headers.append("set-cookie", "authjs.session-token=refreshed; Path=/; HttpOnly");
      return answer;
    };
    const seen: string[] = [];
    const chain = compose(
      createNextMiddleware({ rules: RULES, env: {} }),
      only("/dashboard/**", authLike),
      except("/api/**", localeRewriter(seen)),
    );
    const page = await chain(request("/dashboard"));
    expect(page.headers.get("x-middleware-rewrite")).toBe("https://app.example/en/dashboard");
    expect(page.headers.get("x-middleware-next")).toBeNull();
    expect(page.headers.get("set-cookie")).toContain("authjs.session-token=refreshed");
    expect(seen).toEqual(["/dashboard"]);
    // Nothing after it answers: its own pass-through is the answer, with the firewall's headers.
    const alone = compose(createNextMiddleware({ rules: RULES, env: {} }), authLike);
    const api = await alone(request("/api/x"));
    expect(api.headers.get("x-middleware-next")).toBe("1");
    expect(api.headers.get("set-cookie")).toContain("authjs.session-token=refreshed");
    expect(api.headers.get("cache-control")).toBe("private, no-store");
  });

  it("continues when a middleware returns nothing (void), as Next's own middleware type allows", async () => {
    let ran = false;
    const chain = compose(createNextMiddleware({ rules: RULES, env: {} }), (): void => {
      ran = true;
    });
    const response = await chain(request("/api/x"));
    expect(ran).toBe(true);
    expect(response.headers.get("x-middleware-next")).toBe("1");
    expect(response.headers.get("cache-control")).toBe("private, no-store");
  });

  it("refuses a path that is not a pattern, naming which, when the middleware is set up", () => {
    expect(() => except("api/**", () => undefined)).toThrow(/except path 0 \("api\/\*\*"\)/);
    expect(() => only([], () => undefined)).toThrow(/only\(paths, middleware\) takes a path pattern/);
    expect(() => only("/x", "nope" as never)).toThrow(/takes a middleware function/);
  });
});
