import { type ChildProcess, spawn } from "node:child_process";

export interface Spawned {
  readonly child: ChildProcess;
  /** The first line the process printed (e.g. its URL). */
  readonly line: string;
  stop(): Promise<void>;
}

/** Starts `node --import tsx <script>` and waits for its first stdout line. */
export function spawnTsx(script: string, cwd: string, timeoutMs = 20_000): Promise<Spawned> {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    cwd,
    stdio: ["ignore", "pipe", "inherit"],
  });
  // A crashed or killed benchmark must not leave it serving.
  const onExit = () => child.kill("SIGKILL");
  process.once("exit", onExit);
  const stop = () =>
    new Promise<void>((resolve) => {
      process.off("exit", onExit);
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  return new Promise((resolve, reject) => {
    let buffer = "";
    const timer = setTimeout(
      () => reject(new Error(`${script} printed nothing within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      buffer += chunk;
      const newline = buffer.indexOf("\n");
      if (newline !== -1) {
        clearTimeout(timer);
        resolve({ child, line: buffer.slice(0, newline).trim(), stop });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before printing`));
    });
  });
}
