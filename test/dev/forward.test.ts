/**
 * The local harnesses' forwarding to the origin (containment dev's workerd front and the Node
 * harness): the client never learns the origin's internal address, which the origin writes into the
 * absolute URLs it builds (a redirect's `location`, next-intl's alternate `link` header), since it
 * sees the request at that address.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMiddlewareAnswer } from "../../src/dev/forward.js";

let origin: Server;
let upstream = "";

beforeAll(async () => {
  origin = createServer((request, response) => {
    const self = `http://${request.headers.host}`;
    response.setHeader(
      "link",
      `<${self}/en/about>; rel="alternate"; hreflang="en", <${self}/de/about>; rel="alternate"`,
    );
    response.setHeader("set-cookie", ["NEXT_LOCALE=en; Path=/", "a=1; Path=/"]);
    if (request.url === "/old") {
      response.writeHead(307, { location: `${self}/about` });
      response.end();
      return;
    }
    response.end("ok");
  });
  await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
  upstream = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => origin.close(() => resolve())));

const pass = () => new Response(null, { headers: { "x-middleware-next": "1", "x-rule": "kept" } });

describe("forwarding to the origin", () => {
  it("names the client's address, never the origin's, in link and location headers", async () => {
    const page = await applyMiddlewareAnswer(new Request("http://localhost:3000/about"), pass(), {
      upstream,
    });
    expect(page.headers.get("link")).toBe(
      '<http://localhost:3000/en/about>; rel="alternate"; hreflang="en", <http://localhost:3000/de/about>; rel="alternate"',
    );
    expect(page.headers.get("x-rule")).toBe("kept");
    expect(page.headers.getSetCookie()).toEqual(["NEXT_LOCALE=en; Path=/", "a=1; Path=/"]);
    const moved = await applyMiddlewareAnswer(new Request("http://localhost:3000/old"), pass(), { upstream });
    expect(moved.status).toBe(307);
    expect(moved.headers.get("location")).toBe("http://localhost:3000/about");
    for (const response of [page, moved])
      for (const [, value] of response.headers) expect(value).not.toContain(upstream);
  });
});
