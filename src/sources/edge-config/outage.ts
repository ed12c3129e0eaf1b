/**
 * Edge Config outages reported as state changes, not per attempt: an isolate
 * refreshing every 500 ms would otherwise put ~2 reports a second into the logs and the mirror's
 * `events` stream, pushing real block evidence out of it. One report when Edge Config goes down, one
 * every `repeatMs` while it stays down (with the count of failed attempts), one when it recovers
 * (with the outage's duration).
 */

export interface OutageReport {
  state: "down" | "still-down" | "recovered";
  /** When the outage began (ms since epoch, isolate clock). */
  since: number;
  /** Failed attempts so far (all of them, at `recovered`). */
  attempts: number;
  downForMs: number;
  /** The last failure's message (deadline, HTTP status); never a response body. */
  message: string;
}

export interface OutageTracker {
  /** A failed attempt; answers the report to make, if this attempt changes what operators should know. */
  failed(now: number, message: string): OutageReport | undefined;
  /** A successful attempt; answers the recovery report when an outage just ended. */
  succeeded(now: number): OutageReport | undefined;
  /** True while the last attempt failed. */
  readonly down: boolean;
}

export function outageTracker(repeatMs: number): OutageTracker {
  let since: number | undefined;
  let attempts = 0;
  let reportedAt = 0;
  let message = "";
  return {
    get down() {
      return since !== undefined;
    },
    failed(now, text) {
      message = text;
      attempts++;
      if (since === undefined) {
        since = now;
        reportedAt = now;
        return { state: "down", since, attempts, downForMs: 0, message };
      }
      if (now - reportedAt < repeatMs) return undefined;
      reportedAt = now;
      return { state: "still-down", since, attempts, downForMs: now - since, message };
    },
    succeeded(now) {
      if (since === undefined) return undefined;
      const report: OutageReport = { state: "recovered", since, attempts, downForMs: now - since, message };
      since = undefined;
      attempts = 0;
      return report;
    },
  };
}
