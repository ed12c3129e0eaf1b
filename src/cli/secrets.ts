/**
 * The secrets this CLI run was given, so `redactSecrets` (src/core/redact.ts) can mask them in
 * whatever it prints, even where a message quotes a value whole (a malformed URL, a library that
 * echoes its input). Read from the flags and the environment, plus the configuration once loaded
 * (`--local` takes its tokens from .containment/dev.json).
 */
import { redactSecrets, secretsOf } from "../core/redact.js";
import type { OpsConfig } from "../ops/config.js";

/** Variables whose whole value is a secret. */
const SECRET_VARS = [
  "VERCEL_TOKEN",
  "UPSTASH_REDIS_REST_TOKEN",
  "KV_REST_API_TOKEN",
  "CONTAINMENT_REPORT_SECRET",
  "CONTAINMENT_FASTLANE_PRIVATE_KEY",
  "CONTAINMENT_SALT",
  "CONTAINMENT_DECOY_KEY",
  "CONTAINMENT_ALERT_WEBHOOK_SECRET",
  "CONTAINMENT_PAGERDUTY_ROUTING_KEY",
];
/** Variables holding URLs that can carry a password or token. */
const URL_VARS = ["REDIS_URL", "UPSTASH_REDIS_REST_URL", "KV_REST_API_URL", "EDGE_CONFIG", "VERCEL_API_URL"];

interface SecretFlags {
  redis?: string | undefined;
  token?: string | undefined;
  webhook?: readonly string[] | undefined;
}

/** A webhook URL is a credential as a whole (Slack's carries its secret in the path). */
function webhookSecrets(value: string): string[] {
  const text = value.replace(/^slack:/, "");
  try {
    const url = new URL(text);
    return [text, url.pathname.length > 1 ? url.pathname : "", ...secretsOf(text)];
  } catch {
    return [text];
  }
}

export function knownSecrets(
  flags: SecretFlags,
  env: Readonly<Record<string, string | undefined>>,
  config?: OpsConfig,
): string[] {
  const out = [
    ...SECRET_VARS.map((name) => env[name] ?? ""),
    ...URL_VARS.flatMap((name) => secretsOf(env[name])),
    ...secretsOf(flags.redis),
    flags.token ?? "",
    ...(flags.webhook ?? []).flatMap(webhookSecrets),
    ...(env.CONTAINMENT_WEBHOOKS ?? "")
      .split(/[\s,]+/)
      .filter(Boolean)
      .flatMap(webhookSecrets),
  ];
  if (config !== undefined) {
    const redis = config.redis;
    out.push(
      config.edgeConfig.token ?? "",
      config.reportSecret ?? "",
      config.pseudonymKey ?? "",
      ...secretsOf(config.edgeConfig.readUrl),
      ...(redis === undefined ? [] : "redisUrl" in redis ? secretsOf(redis.redisUrl) : [redis.token]),
      ...config.webhooks.flatMap((hook) => webhookSecrets(hook.url)),
    );
  }
  // Longest first: a secret that contains another is masked whole.
  return [...new Set(out.filter((secret) => secret !== ""))].sort((a, b) => b.length - a.length);
}

/** What the CLI prints, masked: every error line, `--json` object and warning goes through here. */
export function redactOutput(text: string, flags: SecretFlags, config?: OpsConfig): string {
  return redactSecrets(text, knownSecrets(flags, process.env, config));
}
