/**
 * Where audit entries wait while Redis is unreachable. Containment comes first: a kill that Edge
 * Config accepted stands even if Redis is down, and its entries are kept here with their original
 * times until `containment audit sync` chains them (marked `journaled`). The interface keeps the
 * audit API runtime-neutral; the CLI uses the file implementation in journal-file.ts.
 */
import type { AuditDraft } from "./entry.js";

export interface JournaledDraft {
  /** The entry's `uid`; `audit sync` skips uids the chain already holds. */
  uid: string;
  ts: string;
  draft: AuditDraft;
}

export interface Journal {
  /** Where it is, for the loud message ("2 audit entries journaled in …"). */
  readonly location: string;
  append(item: JournaledDraft): Promise<void>;
  list(): Promise<JournaledDraft[]>;
  /** Removes the given ids (after they were chained). */
  remove(ids: ReadonlySet<string>): Promise<void>;
}

/** In memory: for tests and for a dashboard that must not lose entries within one process. */
export function memoryJournal(): Journal {
  let items: JournaledDraft[] = [];
  return {
    location: "memory",
    append: async (item) => {
      items.push(structuredClone(item));
    },
    list: async () => structuredClone(items),
    remove: async (ids) => {
      items = items.filter((item) => !ids.has(item.uid));
    },
  };
}
