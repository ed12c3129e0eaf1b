/**
 * What one rule says about one request. The engine folds the verdicts of all matching rules into a
 * single Decision (see decision.ts).
 */
export type Verdict =
  /** Stop here and answer with an error response. */
  | {
      action: "block";
      outcome: "block" | "rate-limited";
      status: number;
      /** Precise, internal reason (goes to the mirror, never to the client), e.g. `token-expired`. */
      reason: string;
      /** Public text for the response body; no internals. */
      message: string;
      incident?: string;
      retryAfter?: number;
      /** The tenant the refused request addressed, for evidence (not verified). */
      tenant?: string;
      headers?: Readonly<Record<string, string>>;
    }
  /** A dependency failed; the rule's fail mode decides whether the request is blocked. */
  | { action: "fail"; failMode: "open" | "closed"; reason: string; status?: number; message?: string }
  /** Answer directly with a success response (CORS preflight); the handler is never reached. */
  | { action: "respond"; status: number; reason: string; headers: Readonly<Record<string, string>> }
  /** Let the request through, adding these headers to the response. */
  | { action: "headers"; headers: Readonly<Record<string, string>> }
  /** Let the request through; later rules are still evaluated. `reason` is recorded (e.g. `break-glass`). */
  | { action: "pass"; reason: string; headers?: Readonly<Record<string, string>> };
