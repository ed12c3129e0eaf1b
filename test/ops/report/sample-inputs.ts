/** A small incident, fixed in time: the inputs the report tests build from. */
import type { AuditView, ReportInputs } from "../../../src/ops/report/model.js";

const T0 = Date.parse("2026-12-01T20:00:00Z");
const M = (n: number) => Math.floor(T0 / 60_000) + n;
const at = (minutes: number, seconds = 0) => T0 + minutes * 60_000 + seconds * 1000;

const killItem = {
  id: "exports",
  version: 1,
  match: { path: "/api/:tenant/export" },
  incident: "INC-1",
  dataClasses: ["phi"],
};

function entry(seq: number, partial: Partial<AuditView>): AuditView {
  return {
    seq,
    ts: new Date(at(0)).toISOString(),
    action: "other",
    phase: "result",
    ...partial,
  } as AuditView;
}

export function sampleInputs(overrides: Partial<ReportInputs> = {}): ReportInputs {
  return {
    incident: {
      id: "INC-1",
      title: "Export leak | acme",
      discovered: at(1, 30),
      opened: at(1, 45),
      dataClasses: ["phi"],
      gdprRole: "controller",
      hipaaRole: "business-associate",
      baaTerm: "10d",
    },
    since: at(0),
    until: at(10),
    generatedAt: at(11),
    audit: [
      entry(1, { action: "incident-open", phase: "intent", ts: new Date(at(1, 45)).toISOString() }),
      entry(2, { action: "incident-open", ts: new Date(at(1, 45)).toISOString(), actor: "alice" }),
      entry(3, {
        action: "kill",
        phase: "intent",
        key: "containment_kill_exports",
        after: killItem,
        ts: new Date(at(3, 10)).toISOString(),
      }),
      entry(4, {
        action: "kill",
        key: "containment_kill_exports",
        after: killItem,
        actor: "alice",
        reason: "exports leak",
        incident: "INC-1",
        ts: new Date(at(3, 10)).toISOString(),
      }),
      entry(5, {
        action: "lift",
        phase: "intent",
        key: "containment_kill_exports",
        before: killItem,
        ts: new Date(at(6, 5)).toISOString(),
      }),
      entry(6, {
        action: "lift",
        key: "containment_kill_exports",
        before: killItem,
        actor: "bob",
        ts: new Date(at(6, 5)).toISOString(),
      }),
      entry(7, {
        action: "extend",
        phase: "intent",
        key: "containment_kill_other",
        ts: new Date(at(7)).toISOString(),
      }),
    ],
    verification: { ok: true, head: "7:abc", count: 7 },
    counts: [
      { minute: M(0), fields: { "-|allow": 10 } },
      { minute: M(2), fields: { "-|allow": 5, "export-limit|rate-limited": 2 } },
      { minute: M(3), fields: { "exports|block": 4, "-|allow": 3 } },
      { minute: M(4), fields: { "exports|block": 6 } },
      { minute: M(8), fields: { "-|allow": 1 } },
    ],
    traffic: [
      {
        minute: M(0),
        fields: { "/api/:tenant/export|GET|acme|allow": 7, "/api/:tenant/items|GET|acme|allow": 3 },
      },
      {
        minute: M(2),
        fields: {
          "/api/:tenant/export|GET|globex|allow": 2,
          "/api/:tenant/export|GET|globex|rate-limited": 2,
          "/health|GET|-|allow": 3,
        },
      },
      {
        minute: M(3),
        fields: {
          "/api/:tenant/export|POST|acme|allow": 1,
          "/api/:tenant/export|GET|acme|block": 4,
          "~overflow": 2,
        },
      },
      { minute: M(4), fields: { "/api/:tenant/export|GET|acme|block": 6 } },
      { minute: M(8), fields: { "/api/:tenant/export|GET|acme|allow": 1 } },
    ],
    events: [{ ts: String(at(2, 17)), outcome: "rate-limited", rule: "export-limit" }],
    confirmations: [
      { switchId: "exports", version: 1, state: "present", region: "fra1", at: at(3, 14) },
      { switchId: "exports", version: 1, state: "present", region: "iad1", at: at(3, 19) },
      { switchId: "exports", version: 1, state: "absent", region: "fra1", at: at(6, 8) },
    ],
    quarantines: [{ dimension: "user", id: "9a8b7c6d5e4f3a2b", rule: "export-limit", firstSeen: at(2, 20) }],
    dataClassMap: { "/api/:tenant/export": ["phi"], "/api/:tenant/items/**": ["pii"] },
    ...overrides,
  };
}
