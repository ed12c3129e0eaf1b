import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Detection } from "../../../src/model/detect-store.js";
import {
  alertTargets,
  genericBody,
  pagerDutyEvent,
  severityOf,
  signatureHeader,
  slackMessage,
} from "../../../src/stores/detect/alerts.js";

const DETECTION: Detection = {
  id: "patient-enumeration.1s6gy.91a2312fe4aa",
  detector: "patient-enumeration",
  type: "enumeration",
  route: "/api/:tenant/patients/:id",
  dimension: "tenant+user",
  keyId: "0123456789abcdef.fedcba9876543210",
  tenant: "acme",
  value: 51,
  threshold: 50,
  windowMs: 600_000,
  action: "quarantined",
  at: Date.UTC(2026, 11, 7, 6, 0, 0),
};

describe("detection alerts", () => {
  it("are PagerDuty Events v2 trigger and resolve events keyed by the detection id", () => {
    const trigger = pagerDutyEvent("rk", DETECTION, "trigger", "edge-containment/iad1");
    expect(trigger).toMatchObject({
      routing_key: "rk",
      event_action: "trigger",
      dedup_key: DETECTION.id,
      payload: {
        severity: "error",
        source: "edge-containment/iad1",
        timestamp: "2026-12-07T06:00:00.000Z",
        custom_details: { detection: DETECTION.id, key: "tenant+user:0123456789abcdef.fedcba9876543210" },
      },
    });
    expect((trigger.payload as { summary: string }).summary.length).toBeLessThanOrEqual(1024);
    expect(pagerDutyEvent("rk", DETECTION, "resolve", "x")).toEqual({
      routing_key: "rk",
      event_action: "resolve",
      dedup_key: DETECTION.id,
    });
  });

  it("page at critical when containment stopped (budget, suspected misconfiguration, approval)", () => {
    expect(severityOf("budget-exhausted")).toBe("critical");
    expect(severityOf("paused-suspected-misconfiguration")).toBe("critical");
    expect(severityOf("awaiting-approval")).toBe("critical");
    expect(severityOf("monitor")).toBe("info");
    expect(severityOf("alert")).toBe("warning");
  });

  it("sign the generic body with HMAC-SHA256 over timestamp and body, verifiable by a receiver", async () => {
    const body = JSON.stringify(genericBody(DETECTION, "trigger"));
    const header = await signatureHeader("s3cret", body, 1_765_000_000_123);
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header) ?? [];
    expect(t).toBe("1765000000");
    expect(v1).toBe(createHmac("sha256", "s3cret").update(`${t}.${body}`).digest("hex"));
  });

  it("escape Slack markup in what the edge wrote", () => {
    const text = (slackMessage({ ...DETECTION, route: "/api/<!channel>/x" }, "trigger") as { text: string })
      .text;
    expect(text).not.toContain("<!channel>");
  });

  it("are configured from the environment only, and none is fine", () => {
    expect(alertTargets({})).toEqual({});
    expect(alertTargets({ CONTAINMENT_PAGERDUTY_ROUTING_KEY: "rk" }).pagerduty?.url).toBe(
      "https://events.pagerduty.com/v2/enqueue",
    );
  });
});
