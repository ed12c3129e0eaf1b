/**
 * The public types, pinned: every `exports` entry's names and the shapes of its types, as text
 * (public-surface.ts). A change here is a change to the package's API: review it, then update the
 * snapshot with `npx vitest run test/package/public-types.test.ts -u`.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { publicSurface } from "./public-surface.js";

const root = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");

describe("the package's public types", () => {
  it("are the ones pinned in public-surface.snap.txt", { timeout: 180_000 }, async () => {
    await expect(publicSurface(root)).toMatchFileSnapshot("./public-surface.snap.txt");
  });
});
