/**
 * Hot reload for `containment dev`: keeps one Edge Config item in sync with a JSON file on disk,
 * so editing rules locally behaves like pushing them to Edge Config.
 */
import {
  type FSWatcher,
  readFileSync,
  type Stats,
  type StatWatcher,
  unwatchFile,
  watch,
  watchFile,
} from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { RULES_ITEM } from "../model/edge-config-items.js";
import type { Json } from "../model/json.js";

/** Where the file's content goes: the Edge Config stand-in (or anything holding items). */
export interface ItemWriter {
  setItem(key: string, value: Json): void;
}

export interface WatchRulesFileOptions {
  /** Called when the file can't be read or parsed, or the item is refused (e.g. over the size limit). */
  onError?: (error: Error) => void;
  /** Called after the item was replaced with the file's new content. */
  onReload?: (value: Json) => void;
  /** Quiet time after the last change before reloading; editors write files in several steps. */
  debounceMs?: number;
  /** Stat-poll interval: the fallback for file systems where fs.watch misses events. */
  pollIntervalMs?: number;
}

export interface RulesFileWatcher {
  /** Reads the file now (bypassing the debounce); resolves true when the item was replaced. */
  reload(): boolean;
  close(): void;
}

/**
 * Loads `file` into the item `key` now and again whenever it changes. A file that isn't valid JSON
 * never replaces the item: the previous value keeps being served and `onError` is told why.
 *
 * @example
 * const watcher = watchRulesFile(ec, "rules/dev.json", "containment", { onError: console.error });
 */
export function watchRulesFile(
  server: ItemWriter,
  file: string,
  key = RULES_ITEM,
  options: WatchRulesFileOptions = {},
): RulesFileWatcher {
  const path = resolve(file);
  const debounceMs = options.debounceMs ?? 50;
  const report = (error: unknown) =>
    options.onError?.(error instanceof Error ? error : new Error(String(error)));
  let lastText: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const reload = (): boolean => {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      report(error);
      return false;
    }
    // Both watchers fire for one save; unchanged content is not a reload.
    if (text === lastText) return false;
    let value: Json;
    try {
      value = JSON.parse(text) as Json;
    } catch (error) {
      lastText = text;
      report(
        new Error(
          `edge-containment: ${path} is not valid JSON, still serving the previous rules: ${String(error)}`,
        ),
      );
      return false;
    }
    try {
      server.setItem(key, value);
    } catch (error) {
      lastText = text;
      report(error);
      return false;
    }
    lastText = text;
    options.onReload?.(value);
    return true;
  };

  const schedule = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!closed) reload();
    }, debounceMs);
    timer.unref();
  };

  reload();

  // Watch the directory, not the file: editors save by writing a new file and renaming it over
  // the old one, which ends a watch on the old inode.
  let dirWatcher: FSWatcher | undefined;
  try {
    dirWatcher = watch(dirname(path), (_event, name) => {
      if (name === null || name.toString() === basename(path)) schedule();
    });
    dirWatcher.on("error", report);
    dirWatcher.unref();
  } catch (error) {
    report(error);
  }
  const onStat = (curr: Stats, prev: Stats) => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size || curr.ino !== prev.ino) schedule();
  };
  const statWatcher: StatWatcher = watchFile(path, { interval: options.pollIntervalMs ?? 250 }, onStat);
  statWatcher.unref();

  return {
    reload,
    close: () => {
      closed = true;
      if (timer) clearTimeout(timer);
      dirWatcher?.close();
      // With the listener, so other watchers of the same file keep working.
      unwatchFile(path, onStat);
    },
  };
}
