/**
 * Server-sent events: a `snapshot` event with the API's JSON every `refreshMs`. One response lives
 * `streamMs` at most (serverless functions have a duration limit), then ends; EventSource reconnects
 * after the `retry` it was given. A failed read sends a `problem` event and the stream goes on.
 */
import { buildSnapshot, type SnapshotSource } from "./snapshot.js";

const encoder = new TextEncoder();

export function snapshotStream(
  source: SnapshotSource,
  refreshMs: number,
  streamMs: number,
  signal: AbortSignal | undefined,
): ReadableStream<Uint8Array> {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    wake?.();
  };
  signal?.addEventListener("abort", stop, { once: true });
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (text: string) => {
        if (!stopped) controller.enqueue(encoder.encode(text));
      };
      send(`retry: ${Math.max(500, Math.min(refreshMs, 5_000))}\n\n`);
      const endAt = Date.now() + streamMs;
      let seq = 0;
      while (!stopped) {
        try {
          const snapshot = await buildSnapshot(source);
          send(`id: ${++seq}\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
        } catch {
          send(
            `event: problem\ndata: ${JSON.stringify({ message: "The decision mirror (Redis) did not answer in time." })}\n\n`,
          );
        }
        if (Date.now() + refreshMs > endAt) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, refreshMs);
        });
      }
      signal?.removeEventListener("abort", stop);
      if (!stopped) {
        stopped = true;
        controller.close();
      }
    },
    cancel() {
      stop();
    },
  });
}
