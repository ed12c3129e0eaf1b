/**
 * The responder-side attack suite with every defence on: no case's attack gets through
 * (cases.ts; docs/security.md, "Threat model"). ablation.test.ts shows each defence is needed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CASES, type Env, runCases, startEnv } from "./cases.js";

let env: Env;
beforeAll(async () => {
  env = await startEnv();
}, 60_000);
afterAll(async () => {
  await env?.close();
});

describe("the responder-side attack suite", { timeout: 180_000 }, () => {
  it("holds against every case, in every family", async () => {
    expect(new Set(CASES.map((c) => c.family)).size).toBe(7);
    expect(await runCases(env)).toEqual([]);
  });
});
