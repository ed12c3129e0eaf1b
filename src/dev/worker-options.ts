import type { ContainmentOptions } from "../engine/options.js";
import { memoryStore } from "../stores/memory.js";

/**
 * The dev worker and the test harness pass options as JSON (a workerd binding), which cannot carry
 * a store value: `"redis": "memory"` there means `redis: memoryStore()`. Only this harness channel
 * accepts the string; `createContainment` itself refuses it.
 */
export function optionsFromJson(json: Readonly<Record<string, unknown>>): ContainmentOptions {
  const { redis, ...rest } = json;
  const options = rest as ContainmentOptions;
  if (redis === "memory") return { ...options, redis: memoryStore() };
  return redis === undefined ? options : ({ ...options, redis } as ContainmentOptions);
}
