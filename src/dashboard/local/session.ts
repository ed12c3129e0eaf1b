/**
 * Access to the local dashboard, as Jupyter does it: a random token in the printed URL, traded on
 * first load for an HttpOnly SameSite=Strict session cookie, after which the token leaves the
 * address bar (a redirect to the same path without it). Each session has its own CSRF token, which
 * the page sends back in a header with every action.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";

const random = (): string => randomBytes(32).toString("base64url");

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Length is not secret (every token is 43 characters); the contents are compared in constant time.
  return x.length === y.length && timingSafeEqual(x, y);
}

export class Sessions {
  readonly token: string;
  readonly cookieName: string;
  readonly #sessions = new Map<string, { csrf: string }>();

  constructor(port: number, token: string = random()) {
    this.token = token;
    // Cookies ignore ports: two dashboards on one machine must not overwrite each other's session.
    this.cookieName = `containment_dashboard_${port}`;
  }

  /** A new session for a correct token; its Set-Cookie header value. */
  open(path: string): string {
    const id = random();
    this.#sessions.set(id, { csrf: random() });
    return `${this.cookieName}=${id}; HttpOnly; SameSite=Strict; Path=${path}`;
  }

  /** The session named by the request's cookie header, if any. */
  find(cookieHeader: string | undefined): { id: string; csrf: string } | undefined {
    if (!cookieHeader) return undefined;
    for (const part of cookieHeader.split(";")) {
      const eq = part.indexOf("=");
      if (eq < 0 || part.slice(0, eq).trim() !== this.cookieName) continue;
      const id = part.slice(eq + 1).trim();
      for (const [known, session] of this.#sessions)
        if (sameSecret(known, id)) return { id: known, ...session };
    }
    return undefined;
  }
}
