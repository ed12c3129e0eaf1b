import { describe, expect, it } from "vitest";
import { knownSecrets } from "../../src/cli/secrets.js";
import { loadOpsConfig } from "../../src/ops/config.js";

describe("the secrets the CLI masks in what it prints", () => {
  it("takes whole tokens, the secret parts of URLs, and webhook URLs from the flags and the environment", () => {
    const secrets = knownSecrets(
      {
        redis: "redis://ops:flag-pw-1@h:6379",
        token: "flag-token-2",
        webhook: ["slack:https://hooks.slack.com/services/T1/B2/abc"],
      },
      {
        VERCEL_TOKEN: "env-token-3",
        REDIS_URL: "rediss://:env-pw-4@h:6380",
        EDGE_CONFIG: "https://edge-config.vercel.com/ecfg_1?token=read-tok-5",
        CONTAINMENT_WEBHOOKS: "https://example.com/hook/secret-path-6",
        VERCEL_TEAM_ID: "team_not_secret",
      },
    );
    for (const secret of [
      "flag-pw-1",
      "flag-token-2",
      "/services/T1/B2/abc",
      "env-token-3",
      "env-pw-4",
      "read-tok-5",
      "/hook/secret-path-6",
    ])
      expect(secrets).toContain(secret);
    expect(secrets).not.toContain("team_not_secret");
    expect(secrets).not.toContain("h");
  });

  it("adds the tokens a loaded configuration holds (--local reads them from .containment/dev.json)", () => {
    const config = loadOpsConfig({
      env: {
        EDGE_CONFIG_ID: "ecfg_x",
        UPSTASH_REDIS_REST_URL: "https://r.example",
        UPSTASH_REDIS_REST_TOKEN: "rest-token-7",
        CONTAINMENT_REPORT_SECRET: "report-secret-8",
        CONTAINMENT_SALT: "pseudonym-key-9",
      },
    });
    const secrets = knownSecrets({}, {}, config);
    expect(secrets).toEqual(expect.arrayContaining(["rest-token-7", "report-secret-8", "pseudonym-key-9"]));
  });

  it("masks every secret security.md names that a responder's environment can hold", () => {
    const env = {
      CONTAINMENT_SALT: "pseudonym-key-10",
      CONTAINMENT_DECOY_KEY: "decoy-key-11",
      CONTAINMENT_ALERT_WEBHOOK_SECRET: "alert-hmac-12",
      CONTAINMENT_PAGERDUTY_ROUTING_KEY: "routing-key-13",
    };
    expect(knownSecrets({}, env)).toEqual(expect.arrayContaining(Object.values(env)));
  });
});
