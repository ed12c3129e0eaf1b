/**
 * Random ids in UUID v4 text, for the request id (when the platform sent none) and the ticket of
 * each rate-limit check. They are drawn from a pool of random bytes that `crypto.getRandomValues`
 * fills 4 KB at a time: `crypto.randomUUID()` costs about 11 µs a call in workerd, more than the
 * rest of a decision's bookkeeping (BENCHMARKS.md, e2e), and the pool makes it one call per 256
 * ids with the same randomness. The pool is filled on first use, inside a request: workerd refuses
 * random values at module scope.
 */

const POOL_BYTES = 4096;
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

let pool: Uint8Array | undefined;
let offset = POOL_BYTES;

/** A random UUID v4 (RFC 9562 §5.4), e.g. `3b241101-e2bb-4255-8caf-4136c566a962`. */
export function randomId(): string {
  if (pool === undefined || offset + 16 > POOL_BYTES) {
    pool ??= new Uint8Array(POOL_BYTES);
    crypto.getRandomValues(pool);
    offset = 0;
  }
  const at = offset;
  offset += 16;
  pool[at + 6] = ((pool[at + 6] as number) & 0x0f) | 0x40; // version 4
  pool[at + 8] = ((pool[at + 8] as number) & 0x3f) | 0x80; // variant 10
  let id = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) id += "-";
    id += HEX[pool[at + i] as number];
  }
  return id;
}
