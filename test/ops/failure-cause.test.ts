/**
 * The words a responder reads when a dependency fails (src/ops/errors.ts): what Redis did, never
 * its client's message (the command it sent, a Lua script's source, an address with its password),
 * from the real clients' failures against a real redis-server;
 * and the exit code of a change written before something else failed, never 1.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeadlineExceeded } from "../../src/core/errors.js";
import {
  describeFailure,
  EXIT,
  failureCause,
  maskCredentials,
  OpsError,
  writtenExit,
} from "../../src/ops/errors.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { type RedisFixture, startRedisFixture } from "../integration/redis-fixture.js";
import { freePort } from "../support/redis-server.js";

let redis: RedisFixture;
beforeAll(async () => {
  redis = await startRedisFixture();
});
afterAll(() => redis.close());

const thrown = (work: Promise<unknown>) =>
  work.then(
    () => undefined,
    (error: unknown) => error,
  );

describe("failureCause", () => {
  it("names what Redis did from the real client's failures, without the command or the script", async () => {
    const client = restRedis(redis.connection);
    await redis.io.set("k", "a string");
    const wrongType = await thrown(client.hset("k", { f: "v" }));
    expect(failureCause(wrongType)).toBe("refused HSET (WRONGTYPE)");
    expect(describeFailure(wrongType)).toBe("Redis refused HSET (WRONGTYPE)");
    const script = "return redis.call('NOSUCH')";
    expect(failureCause(await thrown(client.eval(script, [], [])))).toBe("answered EVAL with an error");
    await redis.server.stop();
    const down = await thrown(client.eval(script, [], []));
    expect(failureCause(down)).toMatch(/^is unreachable\b/);
    expect(failureCause(down)).not.toMatch(/redis\.call|ERR /);
    const closed = await thrown(
      restRedis({ url: `http://127.0.0.1:${await freePort()}`, token: "t" }).get("k"),
    );
    expect(failureCause(closed)).toBe("is unreachable (connection refused)");
    await redis.server.start();
  });

  it("keeps our own words, and says a deadline in ms; an API error without its advice", () => {
    expect(failureCause(new DeadlineExceeded("audit append", 5000))).toBe("did not answer within 5000 ms");
    expect(
      failureCause(
        new OpsError("ERR_UNAVAILABLE", "the Vercel API failed (503 x: y): nothing was changed; try again", {
          status: 503,
        }),
      ),
    ).toBe("answered 503");
    expect(failureCause(new Error("edge-containment: holds junk, not a chain head"))).toBe(
      "failed: holds junk, not a chain head",
    );
    expect(failureCause(new RangeError("boom"))).toBe("failed (RangeError)");
    expect(
      describeFailure(
        new OpsError("ERR_UNAVAILABLE", "the Vercel API failed", { status: 502, method: "PATCH" }),
      ),
    ).toBe("the Vercel API answered 502");
  });

  it("masks the secret parts of URLs", () => {
    expect(maskCredentials("at redis://edge:s3cret@127.0.0.1:6379 and https://x/y?token=abc&b=1")).toBe(
      "at redis://***@127.0.0.1:6379 and https://x/y?token=***&b=1",
    );
  });
});

describe("writtenExit", () => {
  it("never answers 1, and picks 10, then 5, then 9, then 11", () => {
    const exit = (journaled: boolean, unconfirmed: boolean, incomplete: boolean) =>
      writtenExit({ journaled, unconfirmed, incomplete });
    expect(exit(false, false, false)).toBe(EXIT.ok);
    expect(exit(true, true, true)).toBe(EXIT.journaledUnconfirmed);
    expect(exit(false, true, true)).toBe(EXIT.unconfirmed);
    expect(exit(true, false, true)).toBe(EXIT.journaled);
    expect(exit(false, false, true)).toBe(EXIT.incomplete);
    expect([EXIT.journaledUnconfirmed, EXIT.incomplete]).toEqual([10, 11]);
  });
});
