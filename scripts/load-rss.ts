import { readdirSync, readFileSync } from "node:fs";

/** RSS (MB) of every workerd process on the machine, by pid (Linux /proc). */
export function workerdRss(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      if (!/^Name:\s+workerd/m.test(status)) continue;
      const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
      if (rss) out.set(Number(entry), Number(rss[1]) / 1024);
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}
