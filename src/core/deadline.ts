import { DeadlineExceeded } from "./errors.js";

export { DeadlineExceeded };

/**
 * Races `work` against a timer. Every call to Redis, Edge Config or a JWKS goes through this, so a
 * slow dependency costs at most `ms` and then the caller's fail mode decides. The losing promise is
 * given a no-op catch so a late rejection never surfaces as an unhandled rejection.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(label, ms)), ms);
  });
  work.catch(() => {});
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
