/**
 * The edge runtime for local use: the bundled worker (bundle.ts) in workerd via Miniflare, with
 * no `nodejs_compat`, so the middleware gets exactly the APIs an edge runtime has and a Node
 * built-in fails loudly. Shared by the test harness and `containment dev`.
 */
import { randomUUID } from "node:crypto";
import { dirname } from "node:path";
import { Miniflare } from "miniflare";
import { detachedBody } from "../core/detached-body.js";
import type { EdgeBundleOutput } from "./bundle.js";
import { ENVELOPE_BINDING, ENVELOPE_HEADER } from "./edge-runtime-envelope.js";
import { headerOverflow, headerTooLarge } from "./platform-limits.js";

/**
 * Pinned so a workerd upgrade cannot silently change runtime behaviour under the tests; must not be
 * later than the bundled workerd supports.
 */
export const COMPATIBILITY_DATE = "2025-09-01";

export interface EdgeRuntimeOptions {
  worker: Pick<EdgeBundleOutput, "path" | "code">;
  /** String bindings: the worker's env (CONTAINMENT_OPTIONS, EDGE_CONFIG, UPSTREAM_URL, …). */
  bindings: Record<string, string>;
}

export interface EdgeRuntime {
  /**
   * Sends a request to the worker and returns its answer as a plain (Node global) Response. The
   * URL's host reaches the worker as given; see worker.ts for the Host header.
   */
  dispatch(url: string, init?: DispatchInit): Promise<Response>;
  close(): Promise<void>;
}

export interface DispatchInit {
  method?: string;
  headers?: Iterable<[string, string]>;
  body?: ArrayBuffer | Uint8Array | null;
}

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/**
 * The client's headers travel to the worker inside one header, as base64url JSON, because the
 * transport rewrites them on the way: undici (dispatchFetch) sets `sec-fetch-mode: cors` and adds
 * `user-agent`, `accept-language` and `accept`, and Miniflare's entry worker overwrites
 * `accept-encoding`. worker.ts rebuilds the request with exactly the headers in the envelope, so the
 * middleware sees what the client sent, as it does behind Vercel's proxy. The envelope is honoured
 * only with this runtime's random token, so nothing else on the loopback port can forge one.
 */

/** Headers the envelope never carries: they describe the body or the hop, and the transport sets them. */
const NOT_ENVELOPED = new Set([
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  ENVELOPE_HEADER,
]);

function envelopeOf(token: string, headers: Iterable<[string, string]>): string {
  const list: Array<[string, string]> = [];
  for (const [name, value] of headers) if (!NOT_ENVELOPED.has(name.toLowerCase())) list.push([name, value]);
  return Buffer.from(JSON.stringify({ token, headers: list }), "utf8").toString("base64url");
}

/**
 * @example
 * const runtime = await startEdgeRuntime({ worker: bundle.worker, bindings: { UPSTREAM_URL } });
 * const response = await runtime.dispatch("http://acme.localhost/api/x");
 */
export async function startEdgeRuntime(options: EdgeRuntimeOptions): Promise<EdgeRuntime> {
  const token = randomUUID();
  const mf = new Miniflare({
    modules: [{ type: "ESModule", path: options.worker.path, contents: options.worker.code }],
    // Module names are taken relative to this root; without it they are relative to the working
    // directory, and workerd refuses a bundle outside it (`containment dev` run from elsewhere).
    modulesRoot: dirname(options.worker.path),
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: { ...options.bindings, [ENVELOPE_BINDING]: token },
    // A free loopback port each: test files and a dev server may run side by side.
    host: "127.0.0.1",
    port: 0,
  });
  await mf.ready;
  return {
    async dispatch(url, init = {}) {
      const method = (init.method ?? "GET").toUpperCase();
      const given: Array<[string, string]> = [...(init.headers ?? [])];
      // The platform refuses these before middleware runs; so does this stand-in for it.
      if (headerOverflow(given)) return headerTooLarge();
      const answer = await mf.dispatchFetch(url, {
        method,
        headers: [...given, [ENVELOPE_HEADER, envelopeOf(token, given)]],
        ...(init.body ? { body: init.body } : {}),
        redirect: "manual",
      });
      // dispatchFetch decodes a compressed body and moves Content-Encoding to its own
      // `MF-Content-Encoding`; neither that nor a stale length describes the body handed on.
      const decoded = answer.headers.has("mf-content-encoding") || answer.headers.has("content-encoding");
      const headers = new Headers();
      for (const [name, value] of answer.headers) {
        if (name.startsWith("mf-") || name === "content-encoding" || (decoded && name === "content-length"))
          continue;
        headers.append(name, value);
      }
      const noBody = method === "HEAD" || NULL_BODY_STATUS.has(answer.status);
      if (noBody) await answer.arrayBuffer();
      return new Response(noBody ? null : detachedBody(answer as unknown as Response), {
        status: answer.status,
        statusText: answer.statusText,
        headers,
      });
    },
    close: () => mf.dispose(),
  };
}
