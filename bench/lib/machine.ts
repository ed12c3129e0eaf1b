import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";

export interface Machine {
  cpu: string;
  cores: number;
  memoryBytes: number;
  node: string;
  platform: string;
}

/** The CPU model as the kernel reports it; `os.cpus()` sometimes leaves it empty in containers. */
function cpuModel(): string {
  try {
    const text = readFileSync("/proc/cpuinfo", "utf8");
    const line = text.split("\n").find((l) => l.startsWith("model name"));
    const model = line?.split(":")[1]?.trim();
    if (model) return model;
  } catch {
    // Not Linux: fall through.
  }
  return cpus()[0]?.model ?? "unknown";
}

export function machine(): Machine {
  return {
    cpu: cpuModel(),
    cores: cpus().length,
    memoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/**
 * The commit measured, marked `-dirty` when the tree has uncommitted changes to anything but
 * BENCHMARKS.md itself (which a previous `--only` run may have rewritten).
 */
export function gitCommit(cwd: string): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd, encoding: "utf8" }).trim();
    const dirty = execFileSync(
      "git",
      ["status", "--porcelain", "--untracked-files=no", "--", ".", ":!BENCHMARKS.md"],
      {
        cwd,
        encoding: "utf8",
      },
    ).trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return "unknown";
  }
}
