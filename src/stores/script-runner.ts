/**
 * Runs one Lua script on one client in one round trip: EVAL the first time (which also loads it),
 * EVALSHA after that, and EVAL again if Redis forgot it (NOSCRIPT after a restart or SCRIPT FLUSH).
 * @upstash/redis's `createScript` always tries EVALSHA first, which costs a cold isolate two round
 * trips on its first check: too many under a 250 ms deadline.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { sha1Hex } from "../core/hash.js";

export interface LuaScript {
  run(keys: string[], args: string[]): Promise<unknown>;
}

export function luaScript(client: Redis, script: string): LuaScript {
  // A plain string once known: no promise is shared between requests (workerd forbids awaiting
  // I/O begun by another request; a digest is not I/O, but a string is simpler still).
  let sha: string | undefined;
  return {
    async run(keys, args) {
      if (sha === undefined) {
        const result = await client.eval(script, keys, args);
        sha ??= await sha1Hex(script);
        return result;
      }
      try {
        return await client.evalsha(sha, keys, args);
      } catch (error) {
        if (!String(error).toLowerCase().includes("noscript")) throw error;
        return client.eval(script, keys, args);
      }
    },
  };
}
