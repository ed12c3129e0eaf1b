/**
 * typed errors in jose's style. Each code has one class with a static `code` equal to
 * its instances' `code`, and each code is thrown (or reported) by a real path of the library: a code
 * nothing produces would be a promise to operators that nothing keeps.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { withDeadline } from "../../src/core/deadline.js";
import {
  ConfigInvalid,
  type ContainmentError,
  DeadlineExceeded,
  isContainmentError,
  JwksUnavailable,
  RulesInvalid,
  RulesSourceUnavailable,
  StoreUnavailable,
} from "../../src/core/errors.js";
import { createContainment } from "../../src/engine/firewall.js";
import { remoteKeySet } from "../../src/rules/tenant-binding/jwks.js";
import { parseDocument } from "../../src/rules/validate.js";
import { UpstashStore } from "../../src/stores/redis.js";

const CLASSES = [
  RulesInvalid,
  ConfigInvalid,
  DeadlineExceeded,
  StoreUnavailable,
  JwksUnavailable,
  RulesSourceUnavailable,
] as const;

async function rejection(work: () => unknown): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

function expectTyped(error: unknown, type: (typeof CLASSES)[number]): void {
  expect(error).toBeInstanceOf(type);
  expect(isContainmentError(error)).toBe(true);
  const typed = error as ContainmentError;
  expect(typed.code).toBe(type.code);
  expect(typed.name).toBe(type.name);
  expect(typed.message).toMatch(/^edge-containment: /);
}

describe("typed errors", () => {
  it("gives every class its own static code, equal to its instances' code", () => {
    const codes = CLASSES.map((type) => type.code);
    expect(new Set(codes).size).toBe(CLASSES.length);
    for (const code of codes) expect(code).toMatch(/^ERR_[A-Z_]+$/);
  });

  it("throws RulesInvalid with the JSON path of each fault for an invalid document", () => {
    let error: unknown;
    try {
      parseDocument({ version: 1, rules: [{ id: "x", kind: "rate-limit", match: { path: "/a" } }] });
    } catch (caught) {
      error = caught;
    }
    expectTyped(error, RulesInvalid);
    expect((error as RulesInvalid).issues[0]?.path).toMatch(/^\$\.rules\[0\]/);
  });

  it("throws ConfigInvalid for options the firewall cannot work with", () => {
    let error: unknown;
    try {
      createContainment({ rules: { version: 1, rules: [] }, redis: "memory" as never });
    } catch (caught) {
      error = caught;
    }
    expectTyped(error, ConfigInvalid);
  });

  it("rejects with DeadlineExceeded, naming the call and its deadline, when a dependency call runs late", async () => {
    const error = await rejection(() => withDeadline(new Promise(() => {}), 5, "test call"));
    expectTyped(error, DeadlineExceeded);
    expect((error as DeadlineExceeded).label).toBe("test call");
    expect((error as DeadlineExceeded).ms).toBe(5);
  });

  it("rejects with JwksUnavailable when a key set cannot be fetched", async () => {
    const keys = remoteKeySet(
      { url: "https://jwks.invalid/errors-test.json", timeoutMs: 100, maxAgeMs: 1_000, cooldownMs: 1_000 },
      { now: () => 0, fetch: () => Promise.resolve(new Response("down", { status: 500 })) },
    );
    const error = await rejection(() => keys({ alg: "RS256", kid: "k" }, {} as never, { unknownKid: false }));
    expectTyped(error, JwksUnavailable);
  });

  it("rejects a rate-limit check with StoreUnavailable when Redis answers with errors", async () => {
    // An Upstash-REST endpoint that answers every command of a pipeline with an error reply.
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => {
        body += chunk;
      });
      req.on("end", () => {
        const failure = { error: "ERR this stand-in always fails" };
        res.setHeader("content-type", "application/json");
        // `/pipeline` and `/multi-exec` answer one reply per command; `/` answers one reply.
        if (req.url === "/") res.end(JSON.stringify(failure));
        else res.end(JSON.stringify((JSON.parse(body) as unknown[]).map(() => failure)));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const store = new UpstashStore({ connection: { url: `http://127.0.0.1:${port}`, token: "t" } });
      const limiter = store.limiter({
        name: "r",
        algorithm: "fixed-window",
        limit: 5,
        windowMs: 60_000,
        refill: 5,
      });
      const error = await rejection(() => limiter.check("r:fw:k:/a", ["quarantine:ip:x"]));
      expectTyped(error, StoreUnavailable);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("classifies Edge Config client failures into RulesSourceUnavailable with a reason and status", () => {
    const cases: Array<[unknown, string, number | undefined]> = [
      [new Error("@vercel/edge-config: Unauthorized"), "unauthorized", 401],
      [new Error("@vercel/edge-config: Edge Config not found"), "not-found", 404],
      [
        new Error("@vercel/edge-config: Unexpected error due to response with status code 401"),
        "unauthorized",
        401,
      ],
      [
        new Error("@vercel/edge-config: Unexpected error due to response with status code 502"),
        "status",
        502,
      ],
      [new TypeError("fetch failed"), "network", undefined],
      [new DeadlineExceeded("edge config digest", 1000), "timeout", undefined],
    ];
    for (const [thrown, reason, status] of cases) {
      const failure = RulesSourceUnavailable.from(thrown);
      expectTyped(failure, RulesSourceUnavailable);
      expect([failure.reason, failure.status]).toEqual([reason, status]);
      expect(failure.cause).toBe(thrown);
    }
  });
});
