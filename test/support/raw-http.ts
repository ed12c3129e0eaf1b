/**
 * One HTTP request with node:http, not fetch: tests set Host, Origin and the body's type exactly as
 * a browser, a DNS-rebinding page or another local process would (fetch fixes Host itself).
 */
import { request } from "node:http";

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface RawInit {
  method?: string;
  path?: string;
  /** `host: ""` sends no Host header at all. */
  headers?: Record<string, string>;
  body?: string;
  /** Where to connect; default 127.0.0.1. */
  address?: string;
}

export function rawRequest(port: number, init: RawInit): Promise<RawAnswer> {
  const headers = { ...init.headers };
  const setHost = headers.host !== "";
  if (!setHost) delete headers.host;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: init.address ?? "127.0.0.1",
        port,
        path: init.path ?? "/",
        method: init.method ?? "GET",
        headers,
        setHost,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}
