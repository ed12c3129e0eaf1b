/**
 * Raw Redis replies → the shapes of the ResponderRedis contract (model/responder-redis.ts). Both
 * clients are asked for raw replies (@upstash/redis without automatic deserialization, ioredis by
 * upper-case command names, which its reply transformers do not match) and both pass them through
 * these functions, so the two cannot drift apart.
 */
import type { EvalReply, ScoredMember, StreamEntry } from "../model/responder-redis.js";

/** A bulk string; integers and status replies as their text. */
export function text(reply: unknown): string {
  if (typeof reply === "string") return reply;
  if (reply === null || reply === undefined) return "";
  if (typeof reply === "number" || typeof reply === "bigint") return String(reply);
  if (reply instanceof Uint8Array) return new TextDecoder().decode(reply);
  return JSON.stringify(reply);
}

export function textOrNull(reply: unknown): string | null {
  return reply === null || reply === undefined ? null : text(reply);
}

export function integer(reply: unknown): number {
  const n = Number(reply);
  return Number.isFinite(n) ? n : 0;
}

export function flag(reply: unknown): boolean {
  return integer(reply) === 1;
}

function list(reply: unknown): unknown[] {
  return Array.isArray(reply) ? reply : [];
}

export function texts(reply: unknown): string[] {
  return list(reply).map(text);
}

export function textsOrNull(reply: unknown): Array<string | null> {
  return list(reply).map(textOrNull);
}

/** `[field, value, …]` → record; no fields → null (the hash does not exist). */
export function record(reply: unknown): Record<string, string> | null {
  const flat = list(reply);
  if (flat.length === 0) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[text(flat[i])] = text(flat[i + 1]);
  return out;
}

/** Redis spells infinite scores `inf` / `-inf`, which `Number` does not read. */
function score(reply: unknown): number {
  const value = text(reply).toLowerCase();
  if (value === "inf" || value === "+inf") return Number.POSITIVE_INFINITY;
  if (value === "-inf") return Number.NEGATIVE_INFINITY;
  return Number(value);
}

export function scored(reply: unknown): ScoredMember[] {
  const flat = list(reply);
  const out: ScoredMember[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([text(flat[i]), score(flat[i + 1])]);
  return out;
}

export function entries(reply: unknown): StreamEntry[] {
  return list(reply)
    .filter((entry): entry is unknown[] => Array.isArray(entry) && entry.length >= 2)
    .map((entry) => [text(entry[0]), texts(entry[1])]);
}

export function scanStep(reply: unknown): [cursor: string, keys: string[]] {
  const [cursor, keys] = list(reply);
  return [text(cursor ?? "0"), texts(keys)];
}

export function evalReply(reply: unknown): EvalReply {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === "number") return reply;
  if (typeof reply === "bigint") return Number(reply);
  if (Array.isArray(reply)) return reply.map(evalReply);
  return text(reply);
}
