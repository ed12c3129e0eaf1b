/**
 * Change notifications: each change (and `status --watch` alerts) is posted to the configured
 * webhooks, as our JSON event or as a Slack-compatible `{ text }`. Each post has a deadline, runs
 * after the change, and can never undo or fail it: a webhook failure is only reported.
 */
import { escapeSlack } from "../core/escape.js";
import type { Webhook } from "./config-files.js";

export interface ChangeEvent {
  kind: "change" | "alert";
  /** kill, lift, extend, rules-push, quarantine-release, incident-open… or an alert name. */
  action: string;
  /** One line for people, e.g. "kill exports (/api/:tenant/export/**) for 2h by alice, INC-1". */
  summary: string;
  incident?: string | null;
  key?: string | null;
  actor?: string;
  at: string;
  details?: Record<string, unknown>;
}

export interface NotifyOptions {
  fetch?: typeof fetch;
  /** Deadline of each post; default 3000 ms. */
  timeoutMs?: number;
}

export interface NotifyResult {
  url: string;
  ok: boolean;
  error?: string;
}

function body(hook: Webhook, event: ChangeEvent): string {
  if (hook.format === "slack") {
    const icon = event.kind === "alert" ? ":warning:" : ":shield:";
    // The summary names switches, paths, incidents and reasons: data, never Slack markup.
    return JSON.stringify({ text: `${icon} edge-containment: ${escapeSlack(event.summary)}` });
  }
  return JSON.stringify({ source: "edge-containment", ...event });
}

/** Where a webhook points, without its path (a Slack URL's path is its secret). */
export function hookLabel(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "webhook";
  }
}

export async function postWebhooks(
  hooks: readonly Webhook[],
  event: ChangeEvent,
  options: NotifyOptions = {},
): Promise<NotifyResult[]> {
  const send = options.fetch ?? globalThis.fetch.bind(globalThis);
  const timeoutMs = options.timeoutMs ?? 3000;
  return Promise.all(
    hooks.map(async (hook): Promise<NotifyResult> => {
      const url = hookLabel(hook.url);
      try {
        const response = await send(hook.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: body(hook, event),
          signal: AbortSignal.timeout(timeoutMs),
        });
        await response.body?.cancel();
        return response.ok ? { url, ok: true } : { url, ok: false, error: `answered ${response.status}` };
      } catch (error) {
        const timedOut = error instanceof Error && error.name === "TimeoutError";
        return { url, ok: false, error: timedOut ? `no answer within ${timeoutMs} ms` : "unreachable" };
      }
    }),
  );
}

/**
 * A notifier for an ops context: posts, and answers one warning line per webhook that failed (the
 * change itself stands); `warn`, when given, also gets each line (`status --watch`).
 */
export function webhookNotifier(
  hooks: readonly Webhook[],
  warn?: (line: string) => void,
  options: NotifyOptions = {},
): (event: ChangeEvent) => Promise<string[]> {
  return async (event) => {
    if (hooks.length === 0) return [];
    const lines = (await postWebhooks(hooks, event, options))
      .filter((result) => !result.ok)
      .map((result) => `warning: webhook ${result.url} ${result.error} (the change itself stands)`);
    for (const line of lines) warn?.(line);
    return lines;
  };
}
