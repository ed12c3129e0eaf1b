/**
 * Alerts for detections where responders work (docs/detection.md, "Alerts"): a PagerDuty Events v2
 * event, a Slack message and a generic JSON body signed with HMAC. One alert per detection: only the
 * isolate whose flush created the detection (the `detection:<id>` guard in Redis) sends the trigger;
 * `containment detections release` sends the resolve with the same `dedup_key` (the detection id).
 *
 * Alert text carries no raw identifiers: the key is its pseudonym, the tenant a declared tenant, the
 * route its template. Configuration comes from the environment, never the rules document.
 */
import { escapeSlack } from "../../core/escape.js";
import { hmacSha256, toHex } from "../../core/hash.js";
import type { Detection } from "../../model/detect-store.js";

export const PAGERDUTY_ENQUEUE_URL = "https://events.pagerduty.com/v2/enqueue";

export interface AlertTargets {
  readonly pagerduty?: { readonly url: string; readonly routingKey: string };
  readonly slack?: { readonly url: string };
  readonly webhook?: { readonly url: string; readonly secret: string | undefined };
}

/** The alert targets the environment names (CONTAINMENT_PAGERDUTY_ROUTING_KEY, …); none is fine. */
export function alertTargets(env: Readonly<Record<string, string | undefined>>): AlertTargets {
  const routingKey = env.CONTAINMENT_PAGERDUTY_ROUTING_KEY;
  const slack = env.CONTAINMENT_SLACK_WEBHOOK_URL;
  const webhook = env.CONTAINMENT_ALERT_WEBHOOK_URL;
  return {
    ...(routingKey
      ? { pagerduty: { url: env.CONTAINMENT_PAGERDUTY_URL ?? PAGERDUTY_ENQUEUE_URL, routingKey } }
      : {}),
    ...(slack ? { slack: { url: slack } } : {}),
    ...(webhook ? { webhook: { url: webhook, secret: env.CONTAINMENT_ALERT_WEBHOOK_SECRET } } : {}),
  };
}

export type Severity = "critical" | "error" | "warning" | "info";

/** A budget used up or a paused detector pages loudest: automatic containment has stopped. */
export function severityOf(action: string): Severity {
  switch (action) {
    case "budget-exhausted":
    case "paused-suspected-misconfiguration":
    case "awaiting-approval":
      return "critical";
    case "quarantined":
    case "already-quarantined":
      return "error";
    case "monitor":
      return "info";
    default:
      return "warning";
  }
}

const DOING: Readonly<Record<string, string>> = {
  quarantined: "quarantined the key on its scope",
  "already-quarantined": "the key was already quarantined",
  alert: "alert only",
  monitor: "monitor mode: would have quarantined",
  "awaiting-approval": "whole-tenant containment awaits a person's approval",
  "budget-exhausted": "NOT contained: the detector's action budget is used up",
  "paused-suspected-misconfiguration":
    "NOT contained: trips spiked across many keys right after a rules change (suspected configuration error)",
};

/** One line for people: no raw identifier (key pseudonym, declared tenant, route template). */
export function summaryOf(detection: Detection): string {
  const measure =
    detection.type === "enumeration"
      ? `${detection.value} distinct records`
      : detection.type === "probing"
        ? `${detection.value} tenant-binding refusals`
        : detection.type === "surge"
          ? `${detection.value} requests in the window, far above its trailing rate`
          : `${detection.value} decoy hits`;
  const tenant = detection.tenant ? ` tenant ${detection.tenant}` : "";
  return `${detection.type} detector ${detection.detector} tripped: ${measure} (threshold ${detection.threshold}) on ${detection.route} by ${detection.dimension} ${detection.keyId}${tenant}; ${DOING[detection.action] ?? detection.action}`;
}

function detailsOf(detection: Detection): Record<string, unknown> {
  return {
    detection: detection.id,
    detector: detection.detector,
    type: detection.type,
    route: detection.route,
    key: `${detection.dimension}:${detection.keyId}`,
    tenant: detection.tenant ?? null,
    value: detection.value,
    threshold: detection.threshold,
    windowMs: detection.windowMs,
    action: detection.action,
    at: new Date(detection.at).toISOString(),
    release: `containment detections release ${detection.id}`,
    ...(detection.action === "awaiting-approval"
      ? { approve: `containment detections approve ${detection.id}` }
      : {}),
  };
}

/** PagerDuty Events API v2: `dedup_key` is the detection id, so a resolve closes the same alert. */
export function pagerDutyEvent(
  routingKey: string,
  detection: Detection,
  action: "trigger" | "resolve",
  source: string,
): Record<string, unknown> {
  if (action === "resolve")
    return { routing_key: routingKey, event_action: "resolve", dedup_key: detection.id };
  return {
    routing_key: routingKey,
    event_action: "trigger",
    dedup_key: detection.id,
    payload: {
      summary: summaryOf(detection).slice(0, 1024),
      source,
      severity: severityOf(detection.action),
      timestamp: new Date(detection.at).toISOString(),
      component: detection.route,
      group: "edge-containment",
      class: `detector/${detection.type}`,
      custom_details: detailsOf(detection),
    },
  };
}

/** A Slack message (`{ text }`): the summary is data, escaped for Slack's markup. */
export function slackMessage(detection: Detection, action: "trigger" | "resolve"): Record<string, unknown> {
  const icon = action === "resolve" ? ":white_check_mark:" : ":rotating_light:";
  const text =
    action === "resolve"
      ? `detection ${detection.id} released`
      : `${summaryOf(detection)}. Release: \`containment detections release ${detection.id}\``;
  return { text: `${icon} edge-containment: ${escapeSlack(text)}` };
}

/** The generic body: the detection's facts and whether it opens or resolves. */
export function genericBody(detection: Detection, action: "trigger" | "resolve"): Record<string, unknown> {
  return {
    source: "edge-containment",
    kind: "detection",
    event: action,
    summary: summaryOf(detection),
    severity: severityOf(detection.action),
    ...detailsOf(detection),
  };
}

/**
 * `x-containment-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the receiver
 * recomputes it with the shared secret and refuses a stale `t` (replay).
 */
export async function signatureHeader(secret: string, body: string, nowMs: number): Promise<string> {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${toHex(await hmacSha256(secret, `${t}.${body}`))}`;
}

/** Posts the alert to every configured target, each under `timeoutMs`; answers the targets that failed. */
export async function sendAlerts(
  targets: AlertTargets,
  detection: Detection,
  action: "trigger" | "resolve",
  options: { fetch: typeof fetch; now: number; source: string; timeoutMs?: number },
): Promise<string[]> {
  const posts: Array<{ name: string; url: string; body: string; headers: Record<string, string> }> = [];
  if (targets.pagerduty) {
    const event = pagerDutyEvent(targets.pagerduty.routingKey, detection, action, options.source);
    posts.push({ name: "pagerduty", url: targets.pagerduty.url, body: JSON.stringify(event), headers: {} });
  }
  if (targets.slack)
    posts.push({
      name: "slack",
      url: targets.slack.url,
      body: JSON.stringify(slackMessage(detection, action)),
      headers: {},
    });
  if (targets.webhook) {
    const body = JSON.stringify(genericBody(detection, action));
    const secret = targets.webhook.secret;
    const headers = secret
      ? { "x-containment-signature": await signatureHeader(secret, body, options.now) }
      : {};
    posts.push({ name: "webhook", url: targets.webhook.url, body, headers });
  }
  const timeoutMs = options.timeoutMs ?? 3000;
  const failed = await Promise.all(
    posts.map(async (post) => {
      try {
        const response = await options.fetch(post.url, {
          method: "POST",
          headers: { "content-type": "application/json", ...post.headers },
          body: post.body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        await response.body?.cancel();
        return response.ok ? undefined : `${post.name} answered ${response.status}`;
      } catch {
        return `${post.name} unreachable`;
      }
    }),
  );
  return failed.filter((line): line is string => line !== undefined);
}
