/**
 * Whether a suite that needs something `npm ci` does not bring runs. Present: it runs. Missing
 * with CI set: the test file fails right here, naming what is missing, because CI must run every
 * test and a skipped suite would pass unseen. Missing elsewhere: the suite is skipped and the reason
 * printed, so a partial local run says what it left out.
 *
 * @example describe.skipIf(!runsWith(nextInstalled(), "examples/next-app has no Next.js"))("…", () => {});
 */
export function runsWith(present: boolean, missing: string): boolean {
  if (present) return true;
  if (process.env.CI) throw new Error(`${missing} (with CI set, no suite is skipped)`);
  console.warn(`skipped: ${missing}`);
  return false;
}
