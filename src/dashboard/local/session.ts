/**
 * Access to the local dashboard: a random one-time token in the printed URL, traded on first load
 * for an HttpOnly SameSite=Strict session cookie, after which the token leaves the address bar (a
 * redirect to the same path without it) and is spent: a second use, from a shell history, a
 * screenshot or another browser, opens nothing. Once it is spent, the first request without a
 * session mints the next token, which the server prints to the terminal only.
 *
 * Sessions end after `idleMs` without a request, after `absoluteMs` in any case, and on logout; at
 * most `max` live at once (opening one more ends the oldest). Each has its own CSRF token, which the
 * page sends back in a header with every action and with logout.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";

const random = (): string => randomBytes(32).toString("base64url");

/** The session cookie's name before the port (`containment_dashboard_4500`). */
export const DASHBOARD_COOKIE_PREFIX = "containment_dashboard_";

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Length is not secret (every token is 43 characters); the contents are compared in constant time.
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface SessionLimits {
  /** A session ends after this long without a request; default 30 minutes (the page polls every few seconds while open). */
  idleMs: number;
  /** …and this long after it began, whatever; default 12 hours. */
  absoluteMs: number;
  /** Sessions alive at once; opening one more ends the oldest. Default 8. */
  max: number;
}

export const SESSION_DEFAULTS: Readonly<SessionLimits> = Object.freeze({
  idleMs: 30 * 60_000,
  absoluteMs: 12 * 60 * 60_000,
  max: 8,
});

interface Session {
  csrf: string;
  createdAt: number;
  seenAt: number;
}

export class Sessions {
  readonly cookieName: string;
  readonly #sessions = new Map<string, Session>();
  readonly #limits: SessionLimits;
  readonly #now: () => number;
  readonly #path: string;
  /** The token not yet spent, if any. */
  #token: string | undefined;

  constructor(
    port: number,
    options: {
      token?: string | undefined;
      limits?: Partial<SessionLimits>;
      now?: () => number;
      path?: string;
    } = {},
  ) {
    this.#token = options.token ?? random();
    this.#limits = { ...SESSION_DEFAULTS, ...options.limits };
    this.#now = options.now ?? Date.now;
    this.#path = options.path ?? "/";
    // Cookies ignore ports: two dashboards on one machine must not overwrite each other's session.
    this.cookieName = `${DASHBOARD_COOKIE_PREFIX}${port}`;
  }

  /** The token the next session needs, or undefined once it was spent (until `reissue`). */
  get token(): string | undefined {
    return this.#token;
  }

  get size(): number {
    this.#sweep();
    return this.#sessions.size;
  }

  /** A new session for the unspent token (spending it); its Set-Cookie header value. Undefined for any other. */
  redeem(token: string): string | undefined {
    if (this.#token === undefined || !sameSecret(token, this.#token)) return undefined;
    this.#token = undefined;
    this.#sweep();
    while (this.#sessions.size >= this.#limits.max) {
      const oldest = this.#sessions.keys().next().value as string;
      this.#sessions.delete(oldest);
    }
    const id = random();
    const now = this.#now();
    this.#sessions.set(id, { csrf: random(), createdAt: now, seenAt: now });
    const maxAge = Math.floor(this.#limits.absoluteMs / 1000);
    return `${this.cookieName}=${id}; HttpOnly; SameSite=Strict; Path=${this.#path}; Max-Age=${maxAge}`;
  }

  /** A new token when the last one was spent (to print to the terminal); undefined while one is unspent. */
  reissue(): string | undefined {
    if (this.#token !== undefined) return undefined;
    this.#token = random();
    return this.#token;
  }

  /** The live session the request's cookie names, if any (and marks it used now). */
  find(cookieHeader: string | undefined): { id: string; csrf: string } | undefined {
    if (!cookieHeader) return undefined;
    this.#sweep();
    for (const part of cookieHeader.split(";")) {
      const eq = part.indexOf("=");
      if (eq < 0 || part.slice(0, eq).trim() !== this.cookieName) continue;
      const id = part.slice(eq + 1).trim();
      for (const [known, session] of this.#sessions)
        if (sameSecret(known, id)) {
          session.seenAt = this.#now();
          return { id: known, csrf: session.csrf };
        }
    }
    return undefined;
  }

  /** Ends a session; the Set-Cookie header value that clears its cookie. */
  end(id: string): string {
    this.#sessions.delete(id);
    return `${this.cookieName}=; HttpOnly; SameSite=Strict; Path=${this.#path}; Max-Age=0`;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, session] of this.#sessions)
      if (now - session.seenAt >= this.#limits.idleMs || now - session.createdAt >= this.#limits.absoluteMs)
        this.#sessions.delete(id);
  }
}
