/**
 * CI's bundle ceiling (scripts/bundle-check.ts): the production middleware bundle is judged against
 * 72 KB gzipped, and every run names what the bundle is made of.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { CEILING_BYTES, checkBundle } from "../../scripts/bundle-check.js";
import { bundleEdge, type EdgeBundle } from "../../src/dev/bundle.js";

let bundle: EdgeBundle;
beforeAll(async () => {
  bundle = await bundleEdge({ write: false });
});

describe("the bundle ceiling", () => {
  it("passes the production middleware bundle, which is under 72 KB gzipped", () => {
    const result = checkBundle(bundle);
    expect(result.ceilingBytes).toBe(72 * 1024);
    expect(result.gzipBytes).toBe(bundle.middleware.gzipBytes);
    expect(result.gzipBytes).toBeLessThanOrEqual(CEILING_BYTES);
    expect(result.ok).toBe(true);
    expect(result.lines.at(-1)).toMatch(/^bundle: OK/);
  });

  it("fails a bundle over the ceiling and says by how much", () => {
    const result = checkBundle(bundle, bundle.middleware.gzipBytes - 1024);
    expect(result.ok).toBe(false);
    expect(result.lines.at(-1)).toMatch(/^bundle: FAILED: 1\.0 KB over the/);
  });

  it("names the biggest contributors, the dependencies and the package's own code, largest first", () => {
    const result = checkBundle(bundle);
    const names = result.packages.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(["@upstash/redis", "jose", "edge-containment (own code)"]));
    const sizes = result.packages.map((c) => c.bytes);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    expect(result.lines.join("\n")).toContain("@upstash/redis");
    // The dev-only pieces never count toward the production bundle.
    expect(result.files.map((c) => c.name).filter((name) => name.startsWith("src/dev/"))).toEqual([]);
  });
});
