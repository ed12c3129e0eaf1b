/** A `waitUntil` context whose promises can be awaited, as the platform does after the response. */
export interface Pending {
  context: { waitUntil(promise: Promise<unknown>): void };
  /** Resolves once every promise handed to waitUntil (including ones added meanwhile) has settled. */
  settle(): Promise<void>;
}

export function pendingWork(): Pending {
  const pending = new Set<Promise<unknown>>();
  return {
    context: {
      waitUntil(promise) {
        const tracked: Promise<unknown> = promise.catch(() => {}).finally(() => pending.delete(tracked));
        pending.add(tracked);
      },
    },
    async settle() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
