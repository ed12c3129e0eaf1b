/**
 * The public attack corpus through `containment dev`: the middleware bundle in real workerd, rules
 * from the Edge Config stand-in, rate limits in a real Redis behind the Upstash bridge, a canary
 * origin behind it, and every request sent as raw HTTP/1.1 exactly as the case writes it. Prints
 * the per-family table (docs/security.md shows it) and every failing case.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../../src/dev/server.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { type CorpusFixture, NORMALIZE, startFixture } from "./fixture.js";
import {
  type CaseResult,
  CORPUS_SECRET,
  loadCases,
  rawExchange,
  runAll,
  summary,
  type Target,
} from "./runner.js";

describe("the attack corpus through containment dev", () => {
  let fixture: CorpusFixture;
  let redis: RedisServer;
  let dev: DevServer;
  let results: CaseResult[] = [];

  beforeAll(async () => {
    fixture = await startFixture();
    redis = await startRedisServer();
    dev = await startDevServer({
      port: 0,
      rules: fixture.rulesFile,
      upstream: fixture.canary.url,
      redis: redis.url,
      basePath: NORMALIZE.basePath,
      locales: NORMALIZE.locales,
      env: { CORPUS_SECRET },
      log: () => {},
    });
    const port = Number(new URL(dev.urls.firewall).port);
    const target: Target = {
      name: "dev",
      served: () => fixture.canary.hits(),
      send: (step, headers) => rawExchange(port, step, headers),
    };
    results = await runAll(target, loadCases(), fixture.keys);
    console.log(`attack corpus through containment dev (workerd):\n${summary(results)}`);
  }, 240_000);

  afterAll(async () => {
    await dev?.close();
    await redis?.stop();
    await fixture?.close();
  });

  it("holds at least 200 cases, every attack paired with a benign twin", () => {
    const cases = loadCases();
    expect(cases.length).toBeGreaterThanOrEqual(200);
    const attacks = cases.filter((c) => c.kind === "attack").map((c) => c.id.slice(0, -1));
    const twins = new Set(cases.filter((c) => c.kind === "benign").map((c) => c.id.slice(0, -1)));
    expect(attacks.every((id) => twins.has(id))).toBe(true);
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
  });

  it("blocks every attack and passes every benign twin", () => {
    // Node-only cases (client addresses the loopback cannot take) run in the ablation test's
    // in-process target, which plays the platform.
    expect(results.length).toBe(loadCases().filter((item) => !item.nodeOnly).length);
    expect(results.filter((r) => !r.ok).map((r) => `${r.case.id}: ${r.detail}`)).toEqual([]);
  });
});
