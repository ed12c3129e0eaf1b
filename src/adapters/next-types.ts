import type { Evaluation } from "../engine/evaluate.js";

/** The parts of Next.js's `NextFetchEvent` the firewall uses. */
export interface NextEventLike {
  waitUntil(promise: Promise<unknown>): void;
}

export interface NextEvaluateHints {
  /** The request whose `nextUrl` tells basePath and locale (a rewrite destination has none). */
  nextUrlOf?: Request;
  /** `false`: mirror the decision only if it is not `allow` (a second look at one request). */
  recordAllow?: boolean;
}

export type NextMiddleware = ((request: Request, event?: NextEventLike) => Promise<Response>) & {
  /** The decision behind the answer; `compose` uses it to check a rewrite of your own middleware. */
  readonly evaluate: (
    request: Request,
    event?: NextEventLike,
    hints?: NextEvaluateHints,
  ) => Promise<Evaluation>;
};
