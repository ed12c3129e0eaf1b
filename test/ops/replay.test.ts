import { describe, expect, it } from "vitest";
import { concretePath, replay, requestsFromTraffic } from "../../src/ops/replay.js";
import { parseRecordedRequests } from "../../src/ops/replay-input.js";

const minute = Math.floor(Date.parse("2026-12-01T20:00:00Z") / 60_000);
const rows = [
  { minute, route: "/api/:tenant/export", method: "GET", tenant: "acme", outcome: "allow", n: 7 },
  { minute, route: "/api/:tenant/export", method: "GET", tenant: "globex", outcome: "allow", n: 2 },
  { minute, route: "/api/:tenant/items/:id", method: "GET", tenant: "acme", outcome: "allow", n: 5 },
  { minute, route: "/api/:tenant/export", method: "GET", tenant: "acme", outcome: "block", n: 3 },
];
const proposed = {
  version: 1,
  rules: [
    { id: "acme-exports", kind: "kill-switch", match: { path: "/api/:tenant/export", tenants: ["acme"] } },
    {
      id: "bind",
      kind: "tenant-binding",
      match: { path: "/api/:tenant/**" },
      tenant: { from: "path", param: "tenant" },
      token: { from: "authorization", claim: "org", secret: "S", algorithms: ["HS256"] },
    },
  ],
};

describe("rules test: replaying mirrored traffic through a proposed ruleset", () => {
  it("predicts the new blocks of a kill switch per rule, route and tenant, with the firewall's own matcher", async () => {
    const result = await replay(proposed, requestsFromTraffic(rows), "aggregates");
    expect(result.requests).toBe(17);
    expect(result.newBlocks).toBe(7);
    expect(result.changes).toEqual([
      {
        rule: "acme-exports",
        route: "/api/:tenant/export",
        method: "GET",
        tenant: "acme",
        before: "admitted",
        after: "blocked",
        requests: 7,
      },
    ]);
    expect(result.notes.join(" ")).toMatch(/tenant-binding rules \(bind\) are not replayed/);
  });

  it("reports traffic that a ruleset without the switch would admit again", async () => {
    const result = await replay({ version: 1, rules: [] }, requestsFromTraffic(rows), "aggregates");
    expect(result).toMatchObject({ newBlocks: 0, newlyAdmitted: 3 });
  });

  it("builds concrete paths the redactor turns back into the recorded route", () => {
    expect(concretePath("/api/:tenant/items/:id", "acme")).toBe("/api/acme/items/000000000000");
    expect(concretePath("/health", "-")).toBe("/health");
  });

  it("reads JSON Lines and HAR recordings, naming the line or entry at fault", () => {
    const jsonl =
      '{"method":"GET","path":"/api/acme/export","headers":{"Authorization":"Bearer t"}}\n\n{"url":"https://x.example/a","ts":"2026-12-01T20:00:00Z"}\n';
    expect(parseRecordedRequests("r.jsonl", jsonl)).toEqual([
      { method: "GET", url: "/api/acme/export", headers: { authorization: "Bearer t" } },
      { method: "GET", url: "https://x.example/a", headers: {}, at: Date.parse("2026-12-01T20:00:00Z") },
    ]);
    expect(() => parseRecordedRequests("r.jsonl", '{"method":"GET","path":"/a"}\nnot json\n')).toThrow(
      "r.jsonl:2: not a JSON line",
    );
    const har = JSON.stringify({
      log: {
        entries: [
          {
            startedDateTime: "2026-12-01T20:00:00Z",
            request: {
              method: "POST",
              url: "https://app.example/api/acme/export",
              headers: [
                { name: ":authority", value: "x" },
                { name: "Origin", value: "https://acme.example.com" },
              ],
            },
          },
        ],
      },
    });
    expect(parseRecordedRequests("rec.har", har)).toEqual([
      {
        method: "POST",
        url: "https://app.example/api/acme/export",
        headers: { origin: "https://acme.example.com" },
        at: Date.parse("2026-12-01T20:00:00Z"),
      },
    ]);
    expect(() => parseRecordedRequests("rec.har", '{"log":{}}')).toThrow(
      "rec.har: a HAR file needs log.entries",
    );
  });
});

describe("rules test: detectors and the mirror's aggregates", () => {
  it("leaves detectors out of an aggregates replay and says why (no record ids, tokens or addresses)", async () => {
    const withDetector = {
      version: 1,
      rules: [
        {
          id: "walk",
          kind: "detector",
          detect: "surge",
          match: { path: "/api/:tenant/items/:id" },
          by: ["addressed-tenant"],
          window: "1m",
          threshold: 1,
          multiplier: 2,
          baseline: "10m",
        },
      ],
    };
    const result = await replay(withDetector, requestsFromTraffic(rows), "aggregates");
    expect(result.detections).toEqual([]);
    expect(result.detectors).toEqual([]);
    expect(result.notes.join(" ")).toMatch(/detectors \(walk\) are not replayed from aggregates/);
  });
});
