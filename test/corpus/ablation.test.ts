/**
 * The corpus is not padding: with each normalization or check mechanism switched off in turn
 * (src/core/mechanisms.ts), at least one case of the mechanism's family fails, and with all of
 * them on every case passes. Runs the corpus in this process (the same middleware as the bundle),
 * leaving out cases that need the dev server's socket. The product's switches are a frozen
 * constant; this file alone replaces that module with a mutable copy.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MECHANISMS as FROZEN, type Mechanism } from "../../src/core/mechanisms.js";
import { createContainment } from "../../src/engine/firewall.js";
import { type CorpusFixture, nodeTarget, startFixture } from "./fixture.js";
import { type Case, loadCases, runAll } from "./runner.js";

vi.mock("../../src/core/mechanisms.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/core/mechanisms.js")>();
  return { MECHANISMS: { ...real.MECHANISMS } };
});
const MECHANISMS = FROZEN as Record<Mechanism, boolean>;

/** The corpus family each mechanism protects. */
const FAMILY: Record<Exclude<Mechanism, "breakGlassTrust">, string> = {
  separatorReading: "path spellings",
  dotSegments: "path spellings",
  nextData: "path spellings",
  rscSuffix: "path spellings",
  locales: "path spellings",
  basePath: "path spellings",
  segmentPrefetch: "Next.js advisories",
  internalHeaders: "Next.js advisories",
  internalQuery: "Next.js advisories",
  hostSyntax: "transport and malformed input",
  overrideHeaders: "method overrides",
  overrideQuery: "method overrides",
  headAsGet: "method overrides",
  tenantAllReadings: "tenant-source ambiguity",
};

describe("the corpus with one mechanism switched off at a time", () => {
  let fixture: CorpusFixture;
  let cases: Case[];

  beforeAll(async () => {
    fixture = await startFixture();
    cases = loadCases().filter((item) => !item.devOnly);
  });
  afterAll(async () => {
    for (const name of Object.keys(MECHANISMS) as Mechanism[]) MECHANISMS[name] = true;
    await fixture?.close();
  });

  it("passes every case with every mechanism on", async () => {
    const results = await runAll(nodeTarget(fixture), cases, fixture.keys);
    expect(results.filter((r) => !r.ok).map((r) => `${r.case.id}: ${r.detail}`)).toEqual([]);
  });

  it.each(Object.entries(FAMILY))("fails a %s case of its family when switched off", async (name, family) => {
    const mechanism = name as Mechanism;
    MECHANISMS[mechanism] = false;
    try {
      const results = await runAll(nodeTarget(fixture), cases, fixture.keys);
      const failed = results.filter((r) => !r.ok);
      console.log(
        `${mechanism} off: ${failed.length} failing cases (${failed.map((r) => r.case.id).join(", ")})`,
      );
      expect(failed.some((r) => r.case.family === family)).toBe(true);
    } finally {
      MECHANISMS[mechanism] = true;
    }
  });

  it("lets a client-claimed responder address past a kill switch when breakGlassTrust is switched off", async () => {
    // The dev front server always vouches for the address, so this one is shown at the API.
    const firewall = () =>
      createContainment({
        rules: {
          version: 1,
          breakGlass: { cidrs: ["127.0.0.2/32"] },
          rules: [{ id: "k", kind: "kill-switch", match: { path: "/x" } }],
        },
        env: {},
        onReport: () => {},
      });
    const claimed = () => new Request("https://app.example/x", { headers: { "x-real-ip": "127.0.0.2" } });
    expect((await firewall().decide(claimed())).response?.status).toBe(503);
    MECHANISMS.breakGlassTrust = false;
    try {
      expect((await firewall().decide(claimed())).response).toBeUndefined();
    } finally {
      MECHANISMS.breakGlassTrust = true;
    }
  });
});

describe("the product's mechanisms", () => {
  it("are a frozen constant with every mechanism on", async () => {
    const real = await vi.importActual<typeof import("../../src/core/mechanisms.js")>(
      "../../src/core/mechanisms.js",
    );
    expect(Object.isFrozen(real.MECHANISMS)).toBe(true);
    expect(Object.values(real.MECHANISMS).every((on) => on === true)).toBe(true);
    expect(() => {
      (real.MECHANISMS as Record<string, boolean>).dotSegments = false;
    }).toThrow(TypeError);
  });
});
