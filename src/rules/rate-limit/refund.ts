/** Refunds of rate-limit checks whose answer was not used (rate-limit.ts). */
import { withDeadline } from "../../core/deadline.js";
import type { CheckTicket, Limiter } from "../../model/rate-limit-store.js";

/** How long a timed-out check may take to settle before its refund goes out anyway. */
const SETTLE_MS = 10_000;
const REFUND_DEADLINE_MS = 2_000;
const REFUND_ATTEMPTS = 3;
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes back a check whose answer was not used. It waits for the check to settle first (a paused
 * Redis runs it late) and refunds even when it failed (the reply may be what was lost); the refund
 * is idempotent and leaves a tombstone, so a check that lands after it never counts.
 */
export async function refundUnused(
  limiter: Limiter,
  key: string,
  ticket: CheckTicket,
  check: Promise<unknown>,
): Promise<boolean> {
  await withDeadline(check, SETTLE_MS, "unused rate-limit check").catch(() => {});
  for (let attempt = 1; ; attempt++) {
    try {
      return await withDeadline(limiter.refund(key, ticket), REFUND_DEADLINE_MS, "rate-limit refund");
    } catch (error) {
      if (attempt >= REFUND_ATTEMPTS) throw error;
      await pause(250 * attempt);
    }
  }
}
