/**
 * Request ids and rate-limit ticket ids come from a pool of random bytes (core/random-id.ts): each
 * is a well-formed UUID v4 and none repeats, across refills of the pool.
 */
import { describe, expect, it } from "vitest";
import { randomId } from "../../src/core/random-id.js";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("randomId", () => {
  it("gives UUID v4 text, none repeated over many refills of its pool", () => {
    const seen = new Set<string>();
    // 256 ids per 4 KB pool: 20,000 ids take 79 refills.
    for (let i = 0; i < 20_000; i++) {
      const id = randomId();
      expect(id).toMatch(UUID_V4);
      seen.add(id);
    }
    expect(seen.size).toBe(20_000);
  });

  it("uses every hex digit in every free position (the bytes are random, not a counter)", () => {
    const ids = Array.from({ length: 2_000 }, () => randomId());
    // Position 0 and the last: a counter or a fixed prefix would leave one of them constant.
    for (const position of [0, 35]) {
      const digits = new Set(ids.map((id) => id[position]));
      expect(digits.size).toBe(16);
    }
  });
});
