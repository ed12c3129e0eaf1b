/**
 * A throwaway real redis-server for integration tests: no persistence, a free port on loopback,
 * and controls to crash it, bring it back on the same port, or freeze it (SIGSTOP) mid-test.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { requireProgram } from "./programs.js";

export interface RedisServer {
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly running: boolean;
  /** Kills the process (SIGKILL by default, like a crash) and waits for it to exit. Data is lost. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port (empty) and waits until it answers PING. */
  start(): Promise<void>;
  /**
   * Freezes the process with SIGSTOP: connections stay open but nothing answers (a hung Redis).
   * With `ms`, it resumes by itself after that long. Resolves once frozen.
   */
  pause(ms?: number): Promise<void>;
  resume(): void;
}

export interface RedisServerOptions {
  port?: number;
  /** Extra command-line arguments, e.g. `["--maxmemory", "10mb"]`. */
  args?: string[];
}

const live = new Set<ChildProcess>();
// A failing test must not leave redis-server processes behind.
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/**
 * @example
 * const redis = await startRedisServer();
 * afterAll(() => redis.stop());
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  // REDIS_SERVER_BIN, else redis-server on PATH; throws naming what to install when neither.
  const binary = requireProgram("redis-server");
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;
  let resumeTimer: NodeJS.Timeout | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async (): Promise<void> => {
    if (child) return;
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      // Without persistence Redis writes nothing; the temp dir only keeps it out of the cwd.
      "--dir",
      tmpdir(),
      "--protected-mode",
      "no",
      "--daemonize",
      "no",
      "--loglevel",
      "warning",
      ...(options.args ?? []),
    ];
    const proc = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    proc.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child = proc;
    live.add(proc);
    exited = new Promise((resolve) =>
      proc.once("exit", () => {
        live.delete(proc);
        if (child === proc) child = undefined;
        resolve();
      }),
    );
    const failed = new Promise<never>((_, reject) => {
      proc.once("error", (error) =>
        reject(new Error(`edge-containment: cannot run ${binary}: ${error.message}`)),
      );
      proc.once("exit", (code) =>
        reject(
          new Error(
            `edge-containment: redis-server exited (code ${code}) before answering PING: ${stderr.trim()}`,
          ),
        ),
      );
    });
    failed.catch(() => {}); // only observed while starting
    await Promise.race([waitForPing(port, 5000), failed]);
  };

  const resume = () => {
    if (resumeTimer) clearTimeout(resumeTimer);
    resumeTimer = undefined;
    child?.kill("SIGCONT");
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get running() {
      return child !== undefined;
    },
    start,
    stop: async (signal = "SIGKILL") => {
      if (resumeTimer) clearTimeout(resumeTimer);
      const proc = child;
      if (!proc) return;
      proc.kill(signal);
      // A stopped process only acts on SIGTERM once continued.
      proc.kill("SIGCONT");
      await exited;
    },
    pause: async (ms) => {
      if (!child) throw new Error("edge-containment: redis-server is not running");
      child.kill("SIGSTOP");
      if (ms !== undefined) {
        resumeTimer = setTimeout(resume, ms);
        resumeTimer.unref();
      }
    },
    resume,
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "no answer";
  while (Date.now() < deadline) {
    try {
      if (await ping(port)) return;
      lastError = "unexpected reply to PING";
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(
    `edge-containment: redis-server on port ${port} did not answer PING within ${timeoutMs} ms (${lastError})`,
  );
}

/** Raw RESP so the helper needs no client library. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    socket.setTimeout(500, () => socket.destroy(new Error("PING timed out")));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      if (reply.includes("\r\n")) {
        socket.end();
        resolve(reply.startsWith("+PONG"));
      }
    });
    socket.once("error", reject);
  });
}
