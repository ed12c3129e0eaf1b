/**
 * Makes Upstash-flavoured Lua run on plain Redis. @upstash/ratelimit ≥ 2.1 starts its scripts
 * with `#!lua flags=allow-key-locking`, a flag only Upstash knows; Redis 7 rejects the script
 * ("Unexpected flag in script shebang"). We strip the shebang line before Redis sees it.
 *
 * That changes the script's SHA1, but clients compute the SHA1 of the text they hold (the
 * original) and send it with EVALSHA, so we keep a map original-SHA → stripped-SHA. An EVALSHA
 * with an unknown hash still reaches Redis and answers NOSCRIPT, which makes the client fall
 * back to EVAL, exactly as against Upstash.
 */
import { createHash } from "node:crypto";
import type { RedisReply } from "./upstash-encoding.js";

export interface PreparedCommand {
  args: string[];
  /** Rewrites the reply back into what the client expects (SCRIPT LOAD answers the original SHA). */
  mapReply?: (reply: RedisReply) => RedisReply;
}

/** Replaces a leading `#!lua …` line with an empty one, so Lua error line numbers stay right. */
function stripShebang(script: string): string {
  if (!script.startsWith("#!lua")) return script;
  const newline = script.indexOf("\n");
  return newline === -1 ? "" : script.slice(newline);
}

export function sha1(text: string): string {
  return createHash("sha1").update(text, "utf8").digest("hex");
}

export class LuaScriptRegistry {
  readonly #strippedSha = new Map<string, string>();

  /** `args[0]` is the command name in any case; the rest are its arguments. */
  prepare(args: string[]): PreparedCommand {
    const name = args[0]?.toLowerCase();
    const sub = args[1]?.toLowerCase();
    if ((name === "eval" || name === "eval_ro") && args[1] !== undefined) {
      return { args: [args[0] as string, this.#register(args[1]).stripped, ...args.slice(2)] };
    }
    if ((name === "evalsha" || name === "evalsha_ro") && args[1] !== undefined) {
      return { args: [args[0] as string, this.#resolve(args[1]), ...args.slice(2)] };
    }
    if (name === "script" && sub === "load" && args[2] !== undefined) {
      const { stripped, originalSha } = this.#register(args[2]);
      return {
        args: [args[0] as string, args[1] as string, stripped, ...args.slice(3)],
        mapReply: () => originalSha,
      };
    }
    if (name === "script" && sub === "exists") {
      return {
        args: [args[0] as string, args[1] as string, ...args.slice(2).map((sha) => this.#resolve(sha))],
      };
    }
    return { args };
  }

  #register(script: string): { stripped: string; originalSha: string } {
    const stripped = stripShebang(script);
    const originalSha = sha1(script);
    if (stripped !== script) this.#strippedSha.set(originalSha, sha1(stripped));
    return { stripped, originalSha };
  }

  #resolve(sha: string): string {
    return this.#strippedSha.get(sha.toLowerCase()) ?? sha;
  }
}
