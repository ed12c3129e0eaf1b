/**
 * Turns Redis replies into Upstash REST JSON. With `Upstash-Encoding: base64` (which
 * @upstash/redis always asks for) every string is base64 of its raw bytes, which keeps binary
 * values intact through JSON; only a top-level "OK" stays literal, as Upstash sends it.
 *
 * Why every nested string is encoded, "OK" included: the client's decoder (http.ts `decode`)
 * base64-decodes each string inside an array unconditionally, and only spares "OK" at the top level.
 */

/** A reply as ioredis' `callBuffer` gives it: bulk and status strings are Buffers. */
export type RedisReply = Buffer | string | number | bigint | null | RedisReply[];

export type UpstashValue = string | number | null | UpstashValue[];

export function encodeReply(reply: RedisReply, base64: boolean): UpstashValue {
  if (base64 && isOk(reply)) return "OK";
  return encodeValue(reply, base64);
}

function encodeValue(reply: RedisReply, base64: boolean): UpstashValue {
  if (reply === null || typeof reply === "number") return reply;
  // RESP integers fit in a double for everything the bridge serves; keep them JSON numbers.
  if (typeof reply === "bigint") return Number(reply);
  if (Array.isArray(reply)) return reply.map((item) => encodeValue(item, base64));
  const bytes = typeof reply === "string" ? Buffer.from(reply, "utf8") : reply;
  return base64 ? bytes.toString("base64") : bytes.toString("utf8");
}

function isOk(reply: RedisReply): boolean {
  if (typeof reply === "string") return reply === "OK";
  return Buffer.isBuffer(reply) && reply.length === 2 && reply.toString("latin1") === "OK";
}
