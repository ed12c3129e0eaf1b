/**
 * The journal as a JSONL file (default `.containment/audit-journal.jsonl`), written with `fsync`
 * so a journaled entry survives the laptop dying right after the kill. Node only (the CLI).
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import type { Journal, JournaledDraft } from "./journal.js";

function writeDurably(file: string, text: string, flags: "a" | "w"): void {
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, flags, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function fileJournal(file: string): Journal {
  const list = async (): Promise<JournaledDraft[]> => {
    if (!existsSync(file)) return [];
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line, index) => {
        try {
          return JSON.parse(line) as JournaledDraft;
        } catch {
          throw new Error(
            `edge-containment: ${file} line ${index + 1} is not JSON: fix or remove that line, then run audit sync again`,
          );
        }
      });
  };
  return {
    location: file,
    append: async (item) => writeDurably(file, `${JSON.stringify(item)}\n`, "a"),
    list,
    remove: async (ids) => {
      const rest = (await list()).filter((item) => !ids.has(item.uid));
      const tmp = `${file}.tmp`;
      writeDurably(tmp, rest.map((item) => `${JSON.stringify(item)}\n`).join(""), "w");
      renameSync(tmp, file);
    },
  };
}
