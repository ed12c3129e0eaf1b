/**
 * `edge-containment/memory`: the per-isolate store for `containment dev` and tests, as a value
 * (`redis: memoryStore()`). Its own entry, so production bundles never carry it.
 */
export type { MemoryStoreOptions } from "./stores/memory.js";
export { MemoryDecisionLog, MemoryStore, memoryStore } from "./stores/memory.js";
