/**
 * `containment rules test --requests LOG` with detectors, as a responder runs it to choose a
 * threshold: a JSON Lines request log (tokens included) replayed through the example enumeration
 * detector says who would have tripped, with pseudonyms, and the highest count each key reached;
 * a benign clinician re-reading her list never trips; requests after the trip are the quarantine's
 * new blocks. From the mirror's aggregates, detectors are left out, and it says why.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { mintHs } from "../support/jwt.js";

const SECRET = "detect-example-secret-of-at-least-32-bytes!";
const T0 = Date.parse("2026-12-01T20:00:00Z");
let dir: string;
let log: string;

async function bearer(sub: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return mintHs(SECRET, {
    iss: "https://id.example.com/",
    aud: "api",
    sub,
    org: "acme",
    iat: now,
    exp: now + 3600,
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "containment-rules-test-detect-"));
  const lines: string[] = [];
  const request = (token: string, id: number, ms: number) =>
    JSON.stringify({
      method: "GET",
      path: `/api/acme/patients/${id}`,
      headers: { authorization: `Bearer ${token}` },
      at: new Date(T0 + ms).toISOString(),
      outcome: "allow",
    });
  const mallory = await bearer("mallory");
  const nurse = await bearer("nurse");
  // The nurse re-reads her 40 patients all morning; mallory walks 60 ids in a minute.
  for (let i = 0; i < 400; i++) lines.push(request(nurse, 500 + (i % 40), i * 1000));
  for (let id = 0; id < 60; id++) lines.push(request(mallory, 1000 + id, 30_000 + id * 1000));
  lines.sort((a, b) => Date.parse(JSON.parse(a).at) - Date.parse(JSON.parse(b).at));
  log = join(dir, "requests.jsonl");
  writeFileSync(log, `${lines.join("\n")}\n`);
});

const env = { DETECT_EXAMPLE_JWT_SECRET: SECRET, CONTAINMENT_SALT: "replay-salt" };

describe("rules test replays detectors against a request log", { timeout: 60_000 }, () => {
  it("says who would have tripped and the highest count per key: the numbers a threshold is chosen from", async () => {
    const run = await runCli(
      ["rules", "test", "rules/examples/detect-enumeration.json", "--requests", log, "--json"],
      { env },
    );
    expect(run.code, run.stderr).toBe(0);
    const result = run.json as {
      detections: Array<Record<string, unknown>>;
      detectors: Array<{
        detector: string;
        keys: number;
        tripped: number;
        highest: Array<{ value: number }>;
      }>;
      newBlocks: number;
      changes: Array<{ rule: string; requests: number }>;
    };
    expect(result.detections).toEqual([
      {
        detector: "patient-enumeration",
        type: "enumeration",
        route: "/api/:tenant/patients/:id",
        key: expect.stringMatching(/^tenant\+user:[0-9a-f]{16}\.[0-9a-f]{16}$/),
        tenant: "acme",
        value: 51,
        threshold: 50,
        // mallory's 51st distinct id: 30 s + 50 s into the log.
        at: "2026-12-01T20:01:20.000Z",
        action: "quarantined",
      },
    ]);
    expect(result.detectors).toEqual([
      expect.objectContaining({ detector: "patient-enumeration", keys: 2, tripped: 1 }),
    ]);
    expect(result.detectors[0]?.highest.map((k) => k.value)).toEqual([60, 40]);
    // Her remaining 9 reads fall in the quarantine: new blocks, under the detector's id.
    expect(result.newBlocks).toBe(9);
    expect(result.changes).toEqual([expect.objectContaining({ rule: "patient-enumeration", requests: 9 })]);
    expect(run.stdout).not.toContain("mallory");
  });

  it("prints the same in words, and a lowered threshold that would trip on the nurse shows it", async () => {
    const document = JSON.parse(readFileSync("rules/examples/detect-enumeration.json", "utf8"));
    document.rules[1].threshold = 30;
    const lowered = join(dir, "lowered.json");
    writeFileSync(lowered, JSON.stringify(document));
    const run = await runCli(["rules", "test", lowered, "--requests", log], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /detector patient-enumeration \(enumeration, threshold 30\): 2 key\(s\) counted, 2 would have tripped/,
    );
    expect(run.stdout).toMatch(
      /highest: tenant\+user:\S+ tenant acme: 60 in the window from 2026-12-01T20:00:00\.000Z/,
    );
    expect(run.stdout.match(/would trip: /g)).toHaveLength(2);
  });
});
