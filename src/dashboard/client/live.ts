/**
 * Live updates: server-sent events, or polling when EventSource is missing or keeps failing.
 */
import type { Snapshot } from "../api.js";
import { $, api } from "./view.js";

const POLL_MS = 5_000;
const SSE_FAILURES_BEFORE_POLLING = 3;

let mode: "sse" | "polling" | "" = "";
function setMode(next: "sse" | "polling", text: string): void {
  if (mode === next && $("live").textContent === text) return;
  mode = next;
  $("live").textContent = text;
  document.body.dataset.mode = next;
}

async function poll(render: (s: Snapshot) => void): Promise<void> {
  try {
    const response = await fetch(api("snapshot"), { headers: { accept: "application/json" } });
    if (!response.ok) throw new Error(String(response.status));
    render((await response.json()) as Snapshot);
    setMode("polling", `Live (polling every ${POLL_MS / 1000} s).`);
  } catch {
    setMode("polling", "Cannot reach the dashboard server; retrying.");
  }
}

let stopped = false;
let poller: ReturnType<typeof setInterval> | undefined;
let stream: EventSource | undefined;

function startPolling(render: (s: Snapshot) => void): void {
  if (stopped) return;
  void poll(render);
  poller = setInterval(() => void poll(render), POLL_MS);
}

/** No more updates (after logout: the session is gone). */
export function disconnect(): void {
  stopped = true;
  stream?.close();
  if (poller !== undefined) clearInterval(poller);
}

export function connect(render: (s: Snapshot) => void): void {
  if (typeof EventSource === "undefined") {
    startPolling(render);
    return;
  }
  const source = new EventSource(api("stream"));
  stream = source;
  let failures = 0;
  source.addEventListener("snapshot", (event) => {
    failures = 0;
    render(JSON.parse((event as MessageEvent<string>).data) as Snapshot);
    setMode("sse", "Live (server-sent events).");
  });
  source.addEventListener("problem", () =>
    setMode("sse", "Live, but the mirror did not answer the last read."),
  );
  source.addEventListener("error", () => {
    failures++;
    if (failures >= SSE_FAILURES_BEFORE_POLLING || source.readyState === EventSource.CLOSED) {
      source.close();
      startPolling(render);
    }
  });
}

export async function refreshNow(render: (s: Snapshot) => void): Promise<void> {
  try {
    const response = await fetch(api("snapshot"));
    if (response.ok) render((await response.json()) as Snapshot);
  } catch {
    // The stream or the poller will catch up.
  }
}
