import { describe, expect, it } from "vitest";
import {
  HEADER_FIELD_LIMIT,
  HEADER_TOTAL_LIMIT,
  headerOverflow,
  headerTooLarge,
} from "../../src/dev/platform-limits.js";

/** Headers of `count` × `size` bytes each (name included), named h0, h1, … */
function headers(count: number, size: number): Array<[string, string]> {
  return Array.from({ length: count }, (_, i) => [`h${i}`, "v".repeat(size - `h${i}`.length)]);
}

describe("the platform's request-header limits (Vercel: 16 KB a header, 32 KB in all)", () => {
  it("admits a header of exactly 16 KB and headers of exactly 32 KB in all", () => {
    expect(headerOverflow(headers(1, HEADER_FIELD_LIMIT))).toBeUndefined();
    expect(headerOverflow(headers(2, HEADER_TOTAL_LIMIT / 2))).toBeUndefined();
    expect(headerOverflow([])).toBeUndefined();
  });

  it("refuses one byte over either limit, counting names", () => {
    expect(headerOverflow(headers(1, HEADER_FIELD_LIMIT + 1))).toBe("field");
    expect(headerOverflow([...headers(2, HEADER_TOTAL_LIMIT / 2), ["x", ""]])).toBe("total");
    expect(headerOverflow(headers(40, 1024))).toBe("total");
  });

  it("answers 431 with the platform's code and nothing from the request", async () => {
    const response = headerTooLarge();
    expect(response.status).toBe(431);
    expect(await response.text()).toContain("REQUEST_HEADER_TOO_LARGE");
  });
});
