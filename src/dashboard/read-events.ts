import { withDeadline } from "../core/deadline.js";
import type { EventEntry } from "./api.js";
import { streamEntries } from "./read-mirror.js";
import { eventOf, type SnapshotSource } from "./snapshot.js";

/** Newest `limit` decisions of the `events` stream, newest first, without source events. */
export async function readEvents(source: SnapshotSource, limit: number): Promise<EventEntry[]> {
  const reply = await withDeadline(
    source.redis.xrevrange(`${source.prefix}events`, "+", "-", limit),
    source.timeoutMs,
    "dashboard events read",
  );
  return streamEntries(reply)
    .filter((e) => e.fields.kind !== "source")
    .map(eventOf);
}
