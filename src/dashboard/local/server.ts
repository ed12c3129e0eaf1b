/**
 * `containment dashboard`: the dashboard on a responder's machine, where acting is allowed. Bound to
 * 127.0.0.1; every request must carry the Host it printed (a DNS-rebinding page reaches the socket
 * under its own name and is refused); access needs the printed one-time token, then a session
 * cookie that expires (session.ts); actions and logout need POST, the dashboard's own Origin and
 * the session's CSRF token (actions a JSON body too).
 *
 * `createLocalDashboard` is the request handler alone; `startLocalDashboard` gives it a server of
 * its own, on its own origin: `containment dev` starts one beside the firewall rather than under a
 * path of the app it proxies, whose scripts could otherwise read the page and its CSRF token.
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { redactSecrets } from "../../core/redact.js";
import { DEFAULT_REDIS_PREFIX } from "../../model/defaults.js";
import type { ResponderRedis } from "../../model/responder-redis.js";
import { type CoreHandler, createCore, normalizeBasePath } from "../core.js";
import { problem, securityHeaders } from "../respond.js";
import { ActionRefused, checkInput, type ResponderActions, ROUTES } from "./actions.js";
import { fromOwnPage, ownHost } from "./request-guard.js";
import { type SessionLimits, Sessions, sameSecret } from "./session.js";

export interface LocalDashboardOptions {
  redis: ResponderRedis;
  prefix?: string;
  /** Edge Config connection string (read) for the kill-switch panel. */
  edgeConfig?: string | undefined;
  reportSecret?: string | undefined;
  /** The CLI's actions; without them the page is read-only. */
  actions?: ResponderActions | undefined;
  /** `host:port` the browser must send as Host (the printed URL's). */
  host: string;
  /** Mount path; `""` at the root. */
  basePath?: string;
  refreshMs?: number;
  token?: string;
  /** Session lifetimes and count (defaults in session.ts, SESSION_DEFAULTS). */
  sessions?: Partial<SessionLimits>;
  /**
   * Told each new access URL minted once the last was spent (a request came without a session).
   * Default: printed with `log`. Only the terminal may see it.
   */
  onAccessUrl?: (url: string) => void;
  now?: () => number;
  title?: string;
  /** Where unexpected action failures are printed (the page only says "see the terminal"). Default console.error. */
  log?: (line: string) => void;
}

export interface LocalDashboard {
  /** The URL to open once (it carries the first one-time token). */
  readonly url: string;
  readonly token: string;
  /** Sessions alive now. */
  sessionCount(): number;
  /** Answers the request if it is the dashboard's (under basePath); false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

const MAX_ACTION_BODY = 16 * 1024;

export function createLocalDashboard(options: LocalDashboardOptions): LocalDashboard {
  const basePath = normalizeBasePath(options.basePath, "");
  const port = Number(options.host.slice(options.host.lastIndexOf(":") + 1)) || 0;
  const sessions = new Sessions(port, {
    token: options.token,
    ...(options.sessions === undefined ? {} : { limits: options.sessions }),
    ...(options.now === undefined ? {} : { now: options.now }),
    path: `${basePath}/`,
  });
  const firstToken = sessions.token as string;
  const origin = `http://${options.host}`;
  const accessUrl = (token: string) => `${origin}${basePath}/?token=${token}`;
  const core = createCore({
    redis: options.redis,
    prefix: options.prefix ?? DEFAULT_REDIS_PREFIX,
    edgeConfig: options.edgeConfig,
    reportSecret: options.reportSecret,
    basePath,
    refreshMs: options.refreshMs ?? 2_000,
    // Nothing limits a local process; the browser reconnects anyway after this long.
    streamMs: 10 * 60_000,
    timeoutMs: 3_000,
    now: options.now ?? Date.now,
    title: options.title,
  });
  const actions = options.actions;
  const log = options.log ?? ((line: string) => console.error(line));
  const tell =
    options.onAccessUrl ??
    ((url: string) => log(`dashboard: the access URL was used; for a new session open ${url}`));
  /** Once the token was spent, a visitor without a session gets a fresh one printed to the terminal. */
  const reissue = () => {
    const token = sessions.reissue();
    if (token !== undefined) tell(accessUrl(token));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const target = req.url ?? "/";
    if (!target.startsWith("/")) return false;
    const url = new URL(`${origin}${target}`);
    if (!(url.pathname === basePath || url.pathname.startsWith(`${basePath}/`))) return false;
    if (!ownHost(req, options.host)) {
      await send(
        res,
        problem(
          403,
          "wrong_host",
          `Refused: this dashboard only answers as ${options.host} (DNS-rebinding protection).`,
        ),
      );
      return true;
    }
    const token = url.searchParams.get("token");
    if (token !== null) {
      // An old URL opened again in a browser that has a session: just take the token out.
      const cookie = sessions.find(req.headers.cookie) ? "" : sessions.redeem(token);
      if (cookie === undefined) {
        reissue();
        await send(
          res,
          problem(
            401,
            "bad_token",
            "Wrong or already used access token: open the newest URL the terminal printed.",
          ),
        );
        return true;
      }
      url.searchParams.delete("token");
      const location = `${url.pathname}${url.search}`;
      // 303 to the same path without the token: it leaves the address bar and the history entry.
      await send(
        res,
        new Response(null, {
          status: 303,
          headers: securityHeaders(cookie === "" ? { location } : { location, "set-cookie": cookie }),
        }),
      );
      return true;
    }
    const session = sessions.find(req.headers.cookie);
    if (!session) {
      reissue();
      await send(
        res,
        problem(
          401,
          "no_session",
          "No session (or it expired): open the newest URL the terminal printed (it carries a one-time access token).",
        ),
      );
      return true;
    }
    if (url.pathname === `${basePath}/api/v1/logout`) {
      await send(res, logout(req, session, origin, sessions));
      return true;
    }
    const actionPrefix = `${basePath}/api/v1/actions/`;
    if (url.pathname.startsWith(actionPrefix)) {
      await send(
        res,
        await action(req, url.pathname.slice(actionPrefix.length), session.csrf, origin, actions, log),
        req,
      );
      return true;
    }
    await serveCore(core, req, res, url, { actions: actions !== undefined, csrf: session.csrf });
    return true;
  };
  return {
    url: accessUrl(firstToken),
    token: firstToken,
    sessionCount: () => sessions.size,
    handle,
  };
}

function csrfMatches(req: IncomingMessage, csrf: string): boolean {
  const header = req.headers["x-containment-csrf"];
  return typeof header === "string" && sameSecret(header, csrf);
}

/** `POST api/v1/logout` from the page, with the CSRF token: ends the session and clears its cookie. */
function logout(
  req: IncomingMessage,
  session: { id: string; csrf: string },
  origin: string,
  sessions: Sessions,
): Response {
  if (req.method !== "POST")
    return problem(405, "method_not_allowed", "Log out with POST.", { allow: "POST" });
  if (!fromOwnPage(req, origin))
    return problem(403, "cross_origin", "Refused: log out from the dashboard's own page.");
  if (!csrfMatches(req, session.csrf))
    return problem(403, "bad_csrf_token", "Refused: missing or wrong CSRF token; reload the dashboard.");
  req.resume();
  return new Response(null, {
    status: 204,
    headers: securityHeaders({ "set-cookie": sessions.end(session.id) }),
  });
}

async function serveCore(
  core: CoreHandler,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  page: { actions: boolean; csrf: string },
): Promise<void> {
  const controller = new AbortController();
  res.once("close", () => controller.abort());
  const request = new Request(url, { method: req.method ?? "GET", signal: controller.signal });
  await send(res, await core(request, page), req);
}

async function action(
  req: IncomingMessage,
  name: string,
  csrf: string,
  origin: string,
  actions: ResponderActions | undefined,
  log: (line: string) => void,
): Promise<Response> {
  const route = Object.hasOwn(ROUTES, name) ? ROUTES[name] : undefined;
  if (!route)
    return problem(
      404,
      "no_such_action",
      "No such action; there are kill, lift, extend and quarantine-release.",
    );
  if (req.method !== "POST")
    return problem(405, "method_not_allowed", "Actions only accept POST.", { allow: "POST" });
  if (!fromOwnPage(req, origin))
    return problem(403, "cross_origin", "Refused: actions are only accepted from the dashboard's own page.");
  if (!csrfMatches(req, csrf))
    return problem(403, "bad_csrf_token", "Refused: missing or wrong CSRF token; reload the dashboard.");
  if (!/^application\/json\s*(;|$)/i.test(req.headers["content-type"] ?? ""))
    return problem(415, "not_json", "Send the action as application/json.");
  if (!actions)
    return problem(
      503,
      "read_only",
      "This dashboard is read-only: it was started without Vercel API access.",
    );
  let input: unknown;
  try {
    input = JSON.parse(await readLimited(req, MAX_ACTION_BODY));
  } catch (error) {
    return error instanceof RangeError
      ? problem(413, "too_large", "The action body is larger than 16 KB.")
      : problem(400, "bad_json", "The body is not valid JSON.");
  }
  const checked = checkInput(route.schema, input);
  if (!checked.ok) return problem(400, "invalid_input", checked.message);
  try {
    const outcome = await route.run(actions, checked.value as never);
    return new Response(JSON.stringify({ ok: true, ...outcome }), {
      headers: securityHeaders({ "content-type": "application/json; charset=utf-8" }),
    });
  } catch (error) {
    if (error instanceof ActionRefused) return problem(error.status, error.code, error.message);
    const code = (error as { code?: unknown }).code;
    // Written for the responder, but masked all the same: the page and the terminal show no secret.
    const message =
      error instanceof Error && error.message.startsWith("edge-containment:")
        ? redactSecrets(error.message)
        : undefined;
    if (message === undefined || typeof code !== "string") {
      log(
        redactSecrets(
          `dashboard: ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        ),
      );
      return problem(500, "action_failed", "The action failed unexpectedly; see the terminal for details.");
    }
    return problem(ERROR_STATUS[code] ?? 502, code, message);
  }
}

/** The ops errors' codes (src/ops/errors.ts) as HTTP statuses; their messages are written for responders. */
const ERROR_STATUS: Record<string, number> = {
  ERR_USAGE: 400,
  ERR_REJECTED: 400,
  ERR_CONFIG: 400,
  ERR_RULES_INVALID: 400,
  ERR_AUTH: 502,
  ERR_NOT_FOUND: 404,
  ERR_CONFLICT: 409,
  ERR_DECLINED: 409,
  ERR_RATE_LIMITED: 429,
  ERR_UNAVAILABLE: 502,
  ERR_AUDIT: 502,
};

function readLimited(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on("end", () =>
      size > limit ? reject(new RangeError("too large")) : resolve(Buffer.concat(chunks).toString("utf8")),
    );
    req.on("error", reject);
  });
}

const COMPRESSIBLE = /^(text\/(html|css|javascript)|application\/json)/;

async function send(res: ServerResponse, response: Response, req?: IncomingMessage): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const type = response.headers.get("content-type") ?? "";
  if (!response.body) {
    res.writeHead(response.status, headers).end();
    return;
  }
  if (COMPRESSIBLE.test(type) && /\bgzip\b/.test(String(req?.headers["accept-encoding"] ?? ""))) {
    const body = gzipSync(Buffer.from(await response.arrayBuffer()));
    res.writeHead(response.status, {
      ...headers,
      "content-encoding": "gzip",
      vary: "accept-encoding",
      "content-length": String(body.length),
    });
    res.end(body);
    return;
  }
  res.writeHead(response.status, headers);
  const stream = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream);
  stream.on("error", () => res.destroy());
  stream.pipe(res);
}

export interface StartedLocalDashboard {
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  /** Sessions alive now. */
  sessionCount(): number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0: any free port). */
export async function startLocalDashboard(
  options: Omit<LocalDashboardOptions, "host" | "basePath"> & { port?: number },
): Promise<StartedLocalDashboard> {
  let dashboard: LocalDashboard | undefined;
  const server = createServer((req, res) => {
    const handled = dashboard ? dashboard.handle(req, res) : Promise.resolve(false);
    handled
      .then(async (done) => {
        if (!done) await send(res, problem(404, "not_found", "Not found."));
      })
      .catch(() => {
        if (!res.headersSent)
          void send(res, problem(500, "internal", "The dashboard could not answer this request."));
        else res.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new Error(
              `edge-containment: port ${options.port} is in use; pass --port N (or --port 0 for any free port)`,
            )
          : error,
      ),
    );
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const created = createLocalDashboard({ ...options, host: `127.0.0.1:${port}` });
  dashboard = created;
  return {
    url: created.url,
    origin: `http://127.0.0.1:${port}`,
    port,
    sessionCount: () => created.sessionCount(),
    close: () => closeServer(server),
  };
}

/** Closes the server and its open sockets (an event stream would keep a plain close() waiting). */
function closeServer(server: import("node:http").Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
