/**
 * A closed-loop HTTP load generator in Node (the machine has neither wrk nor hyperfine, and one
 * generator for both sides is what makes their numbers comparable): `concurrency` virtual clients on
 * keep-alive connections, each sending its next request as soon as the previous answer is read,
 * until the time runs out.
 */
import { Agent, request } from "node:http";
import { quantile } from "./stats.js";

export interface LoadRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers by status code. */
  statuses: Record<number, number>;
  latenciesMs: number[];
}

function send(agent: Agent, port: number, entry: LoadRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, method: entry.method, path: entry.path, headers: entry.headers, agent },
      (res) => {
        res.on("data", () => {});
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

export async function runLoad(
  url: string,
  inputs: readonly LoadRequest[],
  options: { concurrency: number; seconds: number; offset?: number },
): Promise<LoadResult> {
  const port = Number(new URL(url).port);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const latenciesMs: number[] = [];
  const statuses: Record<number, number> = {};
  let errors = 0;
  let next = options.offset ?? 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(options.seconds * 1e9));

  async function client(): Promise<void> {
    while (process.hrtime.bigint() < deadline) {
      const entry = inputs[next++ % inputs.length] as LoadRequest;
      const t0 = process.hrtime.bigint();
      try {
        const status = await send(agent, port, entry);
        latenciesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
        statuses[status] = (statuses[status] ?? 0) + 1;
      } catch {
        errors++;
      }
    }
  }

  await Promise.all(Array.from({ length: options.concurrency }, client));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  return {
    requests: latenciesMs.length,
    errors,
    seconds,
    rps: latenciesMs.length / seconds,
    p50Ms: quantile(latenciesMs, 0.5),
    p99Ms: quantile(latenciesMs, 0.99),
    statuses,
    latenciesMs,
  };
}
