/**
 * The built-in origin `containment dev` puts behind the firewall when no `--upstream` is given: a
 * few fake patient-record routes, so the starter kill switch (`/api/patients/*\/export`) and the
 * `phi-no-store` headers rule have something to protect. All data is invented.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Listening, listen, sendJson } from "./http-util.js";

export interface DemoOrigin {
  readonly url: string;
  /** Requests that reached the origin (what got past the firewall). */
  readonly counts: { requests: number };
  close(): Promise<void>;
}

type Route = [method: string, pattern: RegExp, answer: (params: string[]) => unknown];

const ROUTES: Route[] = [
  [
    "GET",
    /^\/$/,
    () => ({
      origin: "edge-containment demo origin",
      try: ["/api/patients/1", "/api/patients/1/export", "/api/acme/reports", "/healthz"],
    }),
  ],
  ["GET", /^\/healthz$/, () => ({ ok: true })],
  ["GET", /^\/api\/patients$/, () => ({ patients: [1, 2, 3].map(patient) })],
  ["GET", /^\/api\/patients\/([^/]+)$/, ([id = ""]) => patient(id)],
  [
    "GET",
    /^\/api\/patients\/([^/]+)\/export$/,
    ([id = ""]) => ({
      patient: patient(id),
      records: [
        { date: "2025-01-14", code: "Z00.00", note: "Annual check-up (fictional)" },
        { date: "2025-06-02", code: "J06.9", note: "Upper respiratory infection (fictional)" },
      ],
      exportedAt: new Date().toISOString(),
    }),
  ],
  ["GET", /^\/api\/([^/]+)\/reports$/, ([tenant = ""]) => ({ tenant, reports: ["q1", "q2", "q3"] })],
];

function patient(id: string | number) {
  return { id: String(id), name: `Test Patient ${id}`, dateOfBirth: "1970-01-01", plan: "demo" };
}

function handle(req: IncomingMessage, res: ServerResponse, counts: { requests: number }): void {
  counts.requests++;
  req.resume();
  const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");
  const path = new URL(req.url ?? "/", "http://origin.invalid").pathname;
  for (const [routeMethod, pattern, answer] of ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    if (routeMethod !== method) {
      sendJson(res, 405, { error: "method not allowed", path }, { allow: routeMethod, "x-demo-origin": "1" });
      return;
    }
    // `public`: the demo shows the phi-no-store rule overriding what an origin sends.
    sendJson(res, 200, answer(match.slice(1).map((part) => decodeURIComponent(part))), {
      "cache-control": "public, max-age=60",
      "x-demo-origin": "1",
    });
    return;
  }
  sendJson(res, 404, { error: "not found", path }, { "x-demo-origin": "1" });
}

/**
 * @example
 * const origin = await startDemoOrigin();
 * console.log(origin.url); // http://127.0.0.1:41234
 */
export async function startDemoOrigin(port = 0): Promise<DemoOrigin> {
  const counts = { requests: 0 };
  const listening: Listening = await listen(async (req, res) => handle(req, res, counts), port);
  return { url: listening.url, counts, close: listening.close };
}
