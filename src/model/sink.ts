import type { Decision } from "./decision.js";

/**
 * Where decisions go after they are made (the Redis mirror, a log). `record` must be synchronous
 * and cheap: it runs on the hot path and only buffers. `flush` runs in `waitUntil` after the
 * response; it must never reject into the request.
 */
export interface DecisionSink {
  record(decision: Decision): void;
  flush(): Promise<void>;
}
